/** Docker's side, as the SCIM client observes it, in the project's own types. */

export type DockerRole = 'member' | 'editor' | 'owner';
export const DOCKER_ROLES: readonly DockerRole[] = ['member', 'editor', 'owner'];

/**
 * The attributes this tool writes to a Docker user. A PUT always carries all of them: Docker
 * deactivates a user on a PUT without `active` (Hub API spec), so nothing is left implicit.
 */
export interface UserAttributes {
  readonly userName: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly active: boolean;
  readonly role: DockerRole;
  readonly org: string;
  /** The team sent in the Docker extension (`dockerTeam`); null when the rules give the user none there. */
  readonly team: string | null;
  /**
   * The address Docker's `emails` holds when it is not the userName (Entra's `mail`, which Docker's
   * Entra mapping sends as `emails[type eq "work"].value`). Absent: the userName, which is what
   * every account written before this field existed holds.
   */
  readonly email?: string;
}

/**
 * Whether a value can be a Docker userName or `emails` value ("The user's email address. This must
 * be reachable via email."): the WHATWG HTML email pattern, what browsers accept in
 * <input type=email>. It rejects quotes, backslashes and spaces, so a value that passes can never
 * break a SCIM filter string, and it rejects non-ASCII (IDN) addresses, which "reachable via email"
 * does not promise. RFC 5321 caps a forward path at 254 characters. Here rather than in mapping/,
 * so that a source adapter can judge an optional address (Entra's `mail`) by the same rule.
 */
export const MAX_EMAIL_LENGTH = 254;
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

export function isEmailAddress(v: string): boolean {
  return v.length <= MAX_EMAIL_LENGTH && EMAIL.test(v);
}

export interface DockerUser {
  readonly id: string;
  readonly userName: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly active: boolean;
  /**
   * The Docker extension as Docker echoed it. `undefined` means Docker did not echo the extension at
   * all (whether GETs echo it is undocumented), so the planner falls back to what it last applied.
   */
  readonly role?: string | null;
  readonly org?: string | null;
  readonly team?: string | null;
  /**
   * The primary `emails` value as Docker echoed it. `undefined` when Docker echoed no address (an
   * undocumented point), so the planner falls back to what it last applied, as for the extension.
   */
  readonly email?: string;
  /** Docker ID (server-assigned), for reports only. */
  readonly displayName?: string | null;
}

/** A Docker team as a SCIM Group, named `org:team`. */
export interface DockerGroup {
  readonly id: string;
  readonly displayName: string;
  /** SCIM ids of the member users. */
  readonly members: readonly string[];
}

export interface DockerSnapshot {
  readonly users: readonly DockerUser[];
  readonly groups: readonly DockerGroup[];
}

/**
 * What Docker's SCIM connection says it offers (`/ServiceProviderConfig`, `/ResourceTypes`,
 * `/Schemas`) and whether `/Groups` answers at all: read once a run, since Docker's public API
 * reference documents only `/Users` and says PATCH is not supported, while the connections Okta
 * and Entra provision through serve `/Groups` and PATCH.
 */
export interface DockerCapabilities {
  /** ServiceProviderConfig's `patch.supported`; null when it does not say. */
  readonly patch: boolean | null;
  /** Whether `GET /Groups` answered (a 404 means the connection has no groups). */
  readonly groups: 'present' | 'absent';
  /** ResourceTypes by id (`User`, `Group`); empty when the endpoint does not answer. */
  readonly resourceTypes: readonly string[];
  /** Schema ids `/Schemas` lists; empty when the endpoint does not answer. */
  readonly schemas: readonly string[];
}
