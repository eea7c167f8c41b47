/**
 * What an identity provider says about the users and groups assigned to the Docker app, before
 * Docker's rules are applied. Source adapters produce these; nothing past an adapter sees an SDK type.
 */

export type SourceKind = 'okta' | 'entra';

export interface IdpUser {
  /** The IdP's immutable id (Okta user id, Entra object id). Links survive an email change through it. */
  readonly idpId: string;
  /** The value meant to become Docker's userName (an email), exactly as the IdP holds it; null when the IdP has none. */
  readonly userName: string | null;
  readonly givenName: string | null;
  readonly familyName: string | null;
  /** false when the IdP says the user must not have access (deprovisioned assignment, disabled account). */
  readonly active: boolean;
  /**
   * Raw docker* attributes. Lists, because Okta and Entra may hold arrays; empty when unset.
   * Values are untrimmed and unvalidated: the mapping rules judge them.
   */
  readonly dockerRole: readonly string[];
  readonly dockerOrg: readonly string[];
  readonly dockerTeam: readonly string[];
  /** Names of the team groups this user is a member of, exactly as the IdP names them. */
  readonly groups: readonly string[];
  /**
   * The address Docker's `emails` should hold, when the IdP has one that differs from the userName
   * (Entra's `mail`, as Docker's Entra mapping sends it). Absent: the userName.
   */
  readonly email?: string | null;
  /** A short human note for reports, e.g. "okta app user PROVISIONED (GROUP)". */
  readonly note?: string;
  /** How the user holds the app and where the docker* values were read: what `explain` traces. */
  readonly provenance?: Provenance;
  /**
   * Values the IdP sent with a type their field cannot have. They are never coerced into a
   * meaning: the mapping holds the user (an active one is neither changed nor deactivated) and the
   * report names each value. A source that cannot tell whether the user is active because that
   * very field is ill-typed reports it here and sets `active: true`, so the user is held, not
   * deactivated.
   */
  readonly illTyped?: readonly IllTypedValue[];
}

export type DockerAttributeName = 'dockerRole' | 'dockerOrg' | 'dockerTeam';

/**
 * Where a user's access and docker* values come from, as the IdP told it. Filled by the source's
 * transform, the same in a full read and a read of a few users; on every user of a 100,000-user
 * read, so the parts most users share (the attribute origins, a direct assignment) are one object.
 */
export interface Provenance {
  /** Assigned to the Docker app as a person (Okta scope USER; an Entra assignment of the user). */
  readonly direct: boolean;
  /**
   * Ids of the groups through which the user holds the app, sorted (Okta `_links.group` of a GROUP
   * assignment; Entra's assigned groups the user is in). A read that knows their names says them
   * in `ScopedRead.groupNames`.
   */
  readonly viaGroups: readonly string[];
  /** Where each docker* attribute is read, in the IdP's terms, e.g. "profile.dockerRole (Okta app user profile)". */
  readonly attributes: Readonly<Record<DockerAttributeName, string>>;
  /** What decided `active`, when the user's `note` does not say it (Entra: accountEnabled). */
  readonly active?: string;
}

/**
 * How Docker's rules placed one IdP user, value by value, each with where it came from: what
 * `explain` prints (mapping/explain.ts makes it, report/explain.ts words it).
 */
export interface MappingTrace {
  /** How the user holds the Docker app, e.g. "directly" or "through the group Docker Users". */
  readonly assignment: string;
  /** Whether the IdP says the user keeps access, and the IdP's own words for it. */
  readonly active: { readonly value: boolean; readonly from: string };
  readonly role: TracedValue;
  readonly org: TracedValue;
  /** The team sent in the user's Docker extension. */
  readonly team: TracedValue;
  /** The row of Docker's placement table that applied (README "Docker's rules"); null when the values do not place the user. */
  readonly row: 1 | 2 | 3 | 4 | null;
  /** That row in words, or why no row applies. */
  readonly rowRule: string;
  /** Every team membership the user should have, and what gives it. */
  readonly teams: readonly { readonly team: string; readonly from: string }[];
  /** The user's groups that give no team, and why. */
  readonly otherGroups: readonly { readonly group: string; readonly why: string }[];
  /** False when the mapping holds the user (bad values, outside what the connection covers): the plan's findings say why. */
  readonly placed: boolean;
}

/** One value and its source; `value` null when the user is not placed. */
export interface TracedValue {
  readonly value: string | null;
  readonly from: string;
}

/** A value of the wrong type, e.g. `dockerOrg` sent as the number 42, or `accountEnabled` as the string "true". */
export interface IllTypedValue {
  /** The field as the IdP names it, e.g. `profile.dockerOrg` or `accountEnabled`. */
  readonly field: string;
  /** The value as JSON, cut short. */
  readonly value: string;
  /** What the field must hold, e.g. "a string or a list of strings". */
  readonly expected: string;
}

/** How a group came to be read as a possible team: assigned to the app, matched by name rule, or pushed (Okta Group Push). */
export type TeamGroupVia = 'assigned' | 'rule' | 'push';

export interface IdpGroup {
  readonly idpId: string;
  readonly name: string;
  /** Members read (only for groups whose name looks like org:team; others are not read). */
  readonly memberCount: number | null;
  /** Why the group was read; absent means assigned to the app (the only way before OKTA_TEAM_GROUPS). */
  readonly via?: readonly TeamGroupVia[];
}

/** Something the reader noticed that is not an error, e.g. a group member who is not assigned to the app. */
export interface SourceNote {
  readonly code: string;
  readonly subject: string;
  readonly message: string;
}

/**
 * A complete read of the IdP. There is no "partial" flag on purpose: a reader either returns a
 * whole snapshot or throws, so a hiccup can never make assigned users look unassigned.
 */
export interface IdpSnapshot {
  readonly source: SourceKind;
  readonly users: readonly IdpUser[];
  readonly groups: readonly IdpGroup[];
  readonly notes: readonly SourceNote[];
  readonly stats: ReadStats;
}

export interface ReadStats {
  readonly requests: number;
  readonly pages: number;
  readonly durationMs: number;
}

/** One IdP behind the same interface, so a third provider is one new folder under sources/. */
export interface Source {
  readonly kind: SourceKind;
  /** Reads everything or throws a SourceReadError. Never returns a partial snapshot. */
  read(signal?: AbortSignal): Promise<IdpSnapshot>;
  /** What changed since a point in time, for incremental runs (Okta's System Log, Graph delta queries). */
  readonly feed?: ChangeFeed;
  /**
   * The IdP users whose login or email is one of `emails` (compared without regard to case),
   * assigned to the Docker app or not: `sync --user` and `explain` start from an email. Keyed by
   * the lower-cased email asked for; an email nobody holds is absent. Throws a SourceReadError
   * when the IdP cannot be asked.
   */
  findUserIds(emails: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[]>>;
}

/**
 * A position in an IdP's change feed (an Okta System Log `next` link, Graph delta links). Opaque
 * outside the source that made it; the state file keeps it between runs.
 */
export type FeedCursor = string;

/**
 * The IdP's change feed, as hints: it names who changed, and each of them is then read afresh
 * (`readUsers`), so a late, repeated or out-of-order event costs a read, never a wrong plan.
 * Invariant 11: a feed that cannot be read whole is an error (a SourceReadError, the run stops
 * before planning) or a full read (`FeedExpiredError`, or a `fullReadNeeded` reason), never an
 * unassignment.
 */
export interface ChangeFeed {
  /**
   * A cursor at the feed's present end. Taken just before a full read, so that what changes while
   * the read runs is read again by the next incremental run: nothing falls between the two.
   */
  start(signal?: AbortSignal): Promise<FeedCursor>;
  /**
   * Every user the feed names since `cursor`. Throws FeedExpiredError when the cursor is too old or
   * unknown to the IdP (the caller then does a full read), and a SourceReadError when a page could
   * not be read (the run fails; the cursor stays where it was).
   */
  changesSince(cursor: FeedCursor, ctx: FeedContext, signal?: AbortSignal): Promise<ChangeSet>;
  /** Reads these users exactly as a full read would see them, groups included. */
  readUsers(idpIds: readonly string[], signal?: AbortSignal): Promise<ScopedRead>;
}

export interface FeedContext {
  /**
   * True for an IdP user this tool manages (has a link). Tenant-wide events (an Okta profile
   * update, a Graph `users/delta` entry) about anyone else are dropped without a request: the
   * next full read reconciles them.
   */
  readonly isManaged: (idpId: string) => boolean;
  /** More users than this named: the source says `fullReadNeeded` instead of reading them one by one. */
  readonly maxUsers: number;
}

export interface ChangeSet {
  /** IdP user ids to read afresh: assigned, unassigned, changed, or moved into or out of a group that matters. */
  readonly userIds: readonly string[];
  /**
   * Set when the changes cannot be followed user by user (a group assigned to or removed from the
   * app, more users than `maxUsers`): the run does a full read instead, and says why.
   */
  readonly fullReadNeeded?: string;
  /** The cursor to keep once this run's changes are in Docker. */
  readonly next: FeedCursor;
  /** Events or delta entries read, before they were narrowed to users. */
  readonly entries: number;
  readonly stats: ReadStats;
}

/** The users an incremental run reads afresh. */
export interface ScopedRead {
  /** Those still assigned to the app (directly or through a group), as a full read gives them. */
  readonly users: readonly IdpUser[];
  /** Ids that are no longer assigned to the app, or gone from the IdP altogether. */
  readonly unassigned: readonly string[];
  readonly notes: readonly SourceNote[];
  readonly stats: ReadStats;
  /** Names of the groups the read met, by id, where it knows them (for Provenance.viaGroups). */
  readonly groupNames?: ReadonlyMap<string, string>;
}
