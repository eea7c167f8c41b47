/**
 * The JSON shapes the Docker SCIM emulator speaks (reference docker-scim.md §2–§5). The product's
 * own client lives in src/docker/ and keeps its own copy of these URNs on purpose: the sandbox may
 * import only the model, so a wire mistake in one is not silently shared by the other.
 */
import type { DockerUser } from '../../model/docker.ts';

export const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const DOCKER_EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
export const LIST_RESPONSE = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const ERROR = 'urn:ietf:params:scim:api:messages:2.0:Error';
export const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

export type ScimType = 'invalidFilter' | 'invalidValue' | 'invalidSyntax' | 'invalidPath' | 'uniqueness' | 'mutability' | 'noTarget' | 'tooMany';

export interface ScimErrorBody {
  schemas: string[];
  /** A string, as Docker's spec shows it ("409"), not a number. */
  status: string;
  detail: string;
  scimType?: ScimType;
}

export function scimErrorBody(status: number, detail: string, scimType?: ScimType): ScimErrorBody {
  return { schemas: [ERROR], status: String(status), detail, ...(scimType ? { scimType } : {}) };
}

/** Thrown by the store and handlers; the emulator turns it into a SCIM error response. */
export class ScimError extends Error {
  readonly status: number;
  readonly scimType: ScimType | undefined;
  constructor(status: number, detail: string, scimType?: ScimType) {
    super(detail);
    this.status = status;
    this.scimType = scimType;
  }
  body(): ScimErrorBody {
    return scimErrorBody(this.status, this.message, this.scimType);
  }
}

/** The emulator's full record of a user: what Docker knows, whether or not it echoes all of it. */
export interface StoredUser {
  readonly id: string;
  userName: string;
  givenName: string | null;
  familyName: string | null;
  /** The Docker ID, server-assigned. */
  displayName: string;
  active: boolean;
  role: string;
  org: string;
  /** The extension team (dockerTeam, or the default team); null when only dockerOrg was given. */
  team: string | null;
  /** The primary `emails` value a write sent, when it is not the userName; null: the userName. */
  email: string | null;
  created: string;
  lastModified: string;
}

export interface StoredGroup {
  readonly id: string;
  displayName: string;
  externalId: string | null;
  /** User ids, in the order they were added. */
  readonly members: Set<string>;
  created: string;
  lastModified: string;
}

export interface WireOptions {
  baseUrl: string;
  echoExtension: boolean;
}

export function userJson(u: StoredUser, o: WireOptions): Record<string, unknown> {
  const name: Record<string, string> = {};
  if (u.givenName !== null) name.givenName = u.givenName;
  if (u.familyName !== null) name.familyName = u.familyName;
  return {
    schemas: o.echoExtension ? [CORE_USER, DOCKER_EXT] : [CORE_USER],
    id: u.id,
    userName: u.userName,
    name,
    displayName: u.displayName,
    active: u.active,
    emails: [{ value: u.email ?? u.userName, display: u.email ?? u.userName, primary: true }],
    ...(o.echoExtension
      ? { [DOCKER_EXT]: { dockerRole: u.role, dockerOrg: u.org, ...(u.team !== null ? { dockerTeam: u.team } : {}) } }
      : {}),
    meta: { resourceType: 'User', location: `${o.baseUrl}/Users/${u.id}`, created: u.created, lastModified: u.lastModified },
  };
}

export function groupJson(g: StoredGroup, o: WireOptions, users: ReadonlyMap<string, StoredUser>): Record<string, unknown> {
  return {
    schemas: [CORE_GROUP],
    id: g.id,
    displayName: g.displayName,
    ...(g.externalId !== null ? { externalId: g.externalId } : {}),
    members: [...g.members].map((id) => ({ value: id, display: users.get(id)?.userName ?? id, $ref: `${o.baseUrl}/Users/${id}` })),
    meta: { resourceType: 'Group', location: `${o.baseUrl}/Groups/${g.id}`, created: g.created, lastModified: g.lastModified },
  };
}

export function listJson(
  key: 'resources' | 'Resources',
  items: readonly unknown[],
  totalResults: number,
  startIndex: number,
): Record<string, unknown> {
  return { schemas: [LIST_RESPONSE], totalResults, startIndex, itemsPerPage: items.length, [key]: items };
}

export function toModelUser(u: StoredUser): DockerUser {
  return {
    id: u.id,
    userName: u.userName,
    givenName: u.givenName,
    familyName: u.familyName,
    active: u.active,
    role: u.role,
    org: u.org,
    team: u.team,
    email: u.email ?? u.userName,
    displayName: u.displayName,
  };
}

/** Docker's example ServiceProviderConfig, verbatim in shape (reference §2.1). */
export function serviceProviderConfigJson(o: { patchSupported?: boolean } = {}): Record<string, unknown> {
  return {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig'],
    documentationUri: '',
    // Docker's published example says false although Entra's PATCH works (reference §2); the
    // emulator serves PATCH anyway and echoes the example by default, so this flag alone decides nothing.
    patch: { supported: o.patchSupported ?? false },
    bulk: { supported: false, maxOperations: 0, maxPayloadSize: 0 },
    filter: { supported: true, maxResults: 99999 },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: false },
    // A single object, not RFC 7643's array: that is how Docker's example has it.
    authenticationSchemes: {
      name: 'OAuth 2.0 Bearer Token',
      description: 'The OAuth 2.0 Bearer Token Authentication scheme. OAuth enables clients to access protected resources by obtaining an access token.',
      specUri: 'http://tools.ietf.org/html/rfc6750',
      type: 'oauthbearertoken',
    },
  };
}

export function resourceTypesJson(o: { groups?: boolean } = {}): Record<string, unknown>[] {
  return [
    { schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'User', name: 'User', description: 'User', endpoint: '/Users', schema: CORE_USER },
    // Docker's example lists only User; Group is served because group sync works (reference §2, [INF]).
    ...(o.groups ?? true ? [{ schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'], id: 'Group', name: 'Group', description: 'Group', endpoint: '/Groups', schema: CORE_GROUP }] : []),
  ];
}

function attr(name: string, description: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { name, type: 'string', multiValued: false, description, required: false, caseExact: false, mutability: 'readWrite', returned: 'default', uniqueness: 'none', ...extra };
}

export function schemasJson(): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: CORE_USER,
      name: 'User',
      description: 'User Account',
      attributes: [
        attr('userName', "The user's email address. This must be reachable via email.", { required: true, uniqueness: 'server' }),
        attr('name', "The user's name", {
          type: 'complex',
          subAttributes: [attr('givenName', 'Given name'), attr('familyName', 'Family name')],
        }),
        attr('displayName', "The username in Docker. Also known as the 'Docker ID'.", { mutability: 'readOnly' }),
        attr('active', 'false de-provisions the user', { type: 'boolean' }),
      ],
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Schema'],
      id: DOCKER_EXT,
      name: 'DockerUser',
      description: 'Docker role, organization and team',
      attributes: [attr('dockerRole', 'member, editor or owner'), attr('dockerOrg', 'Organization name'), attr('dockerTeam', 'Team name')],
    },
  ];
}
