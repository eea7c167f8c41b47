/**
 * What the Okta System Log's events mean for the Docker app, and the feed's cursor. Pure: no I/O,
 * no clock. The event types and target layout are okta.md §1.4's.
 */

/** Events about the app's user assignments: always followed, whoever the user is. */
const APP_MEMBERSHIP = 'application.user_membership.';
/** Group assignments to the app (added, removed, their profile or priority changed): a full read. */
const GROUP_ASSIGNMENT = 'group.application_assignment.';
const GROUP_MEMBERSHIP = new Set(['group.user_membership.add', 'group.user_membership.remove']);
/** A renamed group changes the teams of every member, when it is assigned to the app or a team group. */
const GROUP_PROFILE = 'group.profile.update';
/**
 * A new group: under a name rule (OKTA_TEAM_GROUPS=rule) one whose name matches is a new team.
 * Tenant-wide, like the user events: a few more events a page, for a change that is rare.
 */
const GROUP_CREATE = 'group.lifecycle.create';
/**
 * A deleted group: if it was assigned to the app, its members lost that way to Docker (and an
 * org:team group its team). It is gone from the app's group listing by the time the log is read,
 * and Okta does not document logging an assignment removal with it, so any deletion is a full read.
 */
const GROUP_DELETE = 'group.lifecycle.delete';
/**
 * Tenant-wide events about one user: the account's status and the Okta profile (name, email),
 * which the app profile carries. Followed for users this tool manages only (see `classify`).
 */
const USER_EVENTS = new Set([
  'user.lifecycle.deactivate',
  // Bringing back a DEPROVISIONED (or STAGED) user is `activate`; `reactivate` is for PROVISIONED
  // or RECOVERY users (Okta's lifecycle API). Both give a deactivated user their access back.
  'user.lifecycle.activate',
  'user.lifecycle.reactivate',
  'user.lifecycle.suspend',
  'user.lifecycle.unsuspend',
  'user.lifecycle.delete.initiated',
  'user.account.update_profile',
]);

/**
 * The server-side filter: only the event types above come back. One flat `or` of `eq`/`sw`
 * comparisons, the form okta.md §1.4 documents; the app is narrowed client-side rather than with
 * `and target.id eq` inside the `or`, which would rely on an operator precedence Okta does not
 * document.
 */
export const LOG_FILTER = [
  `eventType sw "${APP_MEMBERSHIP.slice(0, -1)}"`,
  `eventType sw "${GROUP_ASSIGNMENT.slice(0, -1)}"`,
  ...[...GROUP_MEMBERSHIP, GROUP_PROFILE, GROUP_CREATE, GROUP_DELETE, ...USER_EVENTS].map((t) => `eventType eq "${t}"`),
].join(' or ');

/** What one event asks of the feed. */
export type EventVerdict =
  /** Read this user afresh. */
  | { readonly kind: 'user'; readonly userId: string }
  /** Read this user afresh if the tool manages them; otherwise drop the event, unread. */
  | { readonly kind: 'managed-user'; readonly userId: string }
  /** A membership change: read the user afresh if the group is assigned to the app (null: the event named no user). */
  | { readonly kind: 'member'; readonly groupId: string; readonly userId: string | null }
  /** A group changed (renamed?): a full read if it is assigned to the app or a team group, or its name now matches the rule. */
  | { readonly kind: 'group'; readonly groupId: string; readonly name: string }
  /** A group created: a full read if its name matches the rule (null: the event named no group). */
  | { readonly kind: 'group-created'; readonly groupId: string | null; readonly name: string | null }
  /** Cannot be followed user by user. */
  | { readonly kind: 'full'; readonly reason: string }
  | { readonly kind: 'ignore' }
  /** Not an event at all (not an object, no event type): the page is not what Okta sends. */
  | { readonly kind: 'malformed'; readonly why: string };

interface Target {
  readonly id: string;
  readonly type: string;
  readonly name: string;
}

function str(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function targetsOf(event: Record<string, unknown>): Target[] {
  if (!Array.isArray(event.target)) return [];
  const out: Target[] = [];
  for (const t of event.target as unknown[]) {
    if (t === null || typeof t !== 'object') continue;
    const o = t as Record<string, unknown>;
    const id = str(o.id);
    const type = str(o.type);
    if (id && type) out.push({ id, type, name: str(o.displayName) ?? str(o.alternateId) ?? id });
  }
  return out;
}

/** "application.user_membership.add (uuid …)", to name an event in a reason. */
function label(eventType: string, event: Record<string, unknown>): string {
  const uuid = str(event.uuid);
  return uuid ? `${eventType} (event ${uuid})` : eventType;
}

/**
 * One System Log event → what to do about it. The user is always the `User` target: the
 * `AppUser` target's id (`0ua…`) is the assignment's, not the user's (okta.md §1.4). An event of
 * a type that matters but without the target needed to follow it cannot be followed user by user,
 * so it asks for a full read rather than being dropped.
 */
export function classify(event: unknown, appId: string): EventVerdict {
  if (event === null || typeof event !== 'object' || Array.isArray(event)) return { kind: 'malformed', why: 'an event that is not a JSON object' };
  const e = event as Record<string, unknown>;
  const type = str(e.eventType);
  if (!type) return { kind: 'malformed', why: 'an event without an eventType' };
  const targets = targetsOf(e);
  const user = targets.find((t) => t.type === 'User') ?? null;
  const group = targets.find((t) => t.type === 'UserGroup') ?? null;
  const app = targets.find((t) => t.type === 'AppInstance') ?? null;

  if (type.startsWith(APP_MEMBERSHIP)) {
    if (app && app.id !== appId) return { kind: 'ignore' };
    if (!user) return { kind: 'full', reason: `the Okta System Log event ${label(type, e)} names no user to read again` };
    return { kind: 'user', userId: user.id };
  }
  if (type.startsWith(GROUP_ASSIGNMENT)) {
    if (app && app.id !== appId) return { kind: 'ignore' };
    const what = type.endsWith('.add') ? 'was assigned to' : type.endsWith('.remove') ? 'was removed from' : 'changed its assignment to';
    return { kind: 'full', reason: `Okta group ${group ? `"${group.name}"` : '(unnamed in the event)'} ${what} the Docker app, which changes every member's access` };
  }
  if (GROUP_MEMBERSHIP.has(type)) {
    if (!group) return { kind: 'full', reason: `the Okta System Log event ${label(type, e)} names no group` };
    return { kind: 'member', groupId: group.id, userId: user?.id ?? null };
  }
  if (type === GROUP_PROFILE) {
    if (!group) return { kind: 'full', reason: `the Okta System Log event ${label(type, e)} names no group` };
    return { kind: 'group', groupId: group.id, name: group.name };
  }
  if (type === GROUP_CREATE) return { kind: 'group-created', groupId: group?.id ?? null, name: group ? group.name : null };
  if (type === GROUP_DELETE) {
    return { kind: 'full', reason: `Okta group ${group ? `"${group.name}"` : '(unnamed in the event)'} was deleted; if it was assigned to the Docker app, every member's access changed` };
  }
  if (USER_EVENTS.has(type)) {
    if (!user) return { kind: 'full', reason: `the Okta System Log event ${label(type, e)} names no user to read again` };
    return { kind: 'managed-user', userId: user.id };
  }
  return { kind: 'ignore' };
}

/**
 * The feed's position, as the state file keeps it: the `next` link the last poll ended on, or (from
 * `start()`) a time to poll from. The app id is kept too: after OKTA_APP_ID changes, what Docker
 * holds was reconciled against another app, and only a full read can tell who has this one. So is
 * `groups`, where team groups were found (`teamGroupsKey`; absent: assigned, as before it was
 * kept), for the same reason; and `at`, a time on this host's clock from which changes are after
 * this position (Group Push mappings have no log of their own: they are asked for by time).
 */
export type OktaFeedCursor = ({ readonly v: 1; readonly app: string; readonly next: string } | { readonly v: 1; readonly app: string; readonly since: string }) & {
  readonly groups?: string;
  readonly at?: string;
};

/** OKTA_TEAM_GROUPS and OKTA_GROUP_RULE as one text, e.g. `assigned` or `rule:startsWith:acme:`. */
export function teamGroupsKey(sources: readonly string[], rule: { readonly op: string; readonly value: string } | null): string {
  return [...new Set(sources)]
    .sort()
    .map((s) => (s === 'rule' && rule ? `rule:${rule.op}:${rule.value}` : s))
    .join(',');
}

export function encodeCursor(c: OktaFeedCursor): string {
  // The default is left out, so a cursor of an assigned-only setup reads as one written before.
  const { groups, ...rest } = c;
  return JSON.stringify(groups === undefined || groups === 'assigned' ? rest : { ...rest, groups });
}

/** The cursor, or null when the text is not one this version wrote. */
export function decodeCursor(text: string): OktaFeedCursor | null {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return null;
  }
  if (v === null || typeof v !== 'object') return null;
  const o = v as Record<string, unknown>;
  if (o.v !== 1 || typeof o.app !== 'string') return null;
  if (o.groups !== undefined && typeof o.groups !== 'string') return null;
  if (o.at !== undefined && (typeof o.at !== 'string' || Number.isNaN(Date.parse(o.at)))) return null;
  const extra = { ...(typeof o.groups === 'string' ? { groups: o.groups } : {}), ...(typeof o.at === 'string' ? { at: o.at } : {}) };
  if (typeof o.next === 'string' && o.since === undefined) {
    try {
      new URL(o.next);
    } catch {
      return null;
    }
    return { v: 1, app: o.app, next: o.next, ...extra };
  }
  if (typeof o.since === 'string' && o.next === undefined && !Number.isNaN(Date.parse(o.since))) return { v: 1, app: o.app, since: o.since, ...extra };
  return null;
}
