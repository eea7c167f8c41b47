import { createHash, randomBytes } from 'node:crypto';
import type { Directory, DirectoryChange, DirectoryUser } from '../directory.ts';
import { LogFilterError, parseLogFilter, type FilterableEvent, type LogFilter } from './log-filter.ts';

/**
 * Okta's System Log (`GET /api/v1/logs`, okta.md §1.4), served from the Directory's change log.
 *
 * Each Directory change becomes the events Okta records for it, with Okta's event types and
 * targets: app assignment → `application.user_membership.add|remove|update` (targets AppUser `0ua…`,
 * AppInstance, User); disable → `user.lifecycle.deactivate|activate`; a name or email →
 * `user.account.update_profile`; removal → `user.lifecycle.delete.initiated`; group membership →
 * `group.user_membership.add|remove` (User, UserGroup), plus the app membership event when joining
 * or leaving an assigned group gives or takes the app; a group assigned to or removed from the app
 * → `group.application_assignment.add|remove` (UserGroup, AppInstance); a group created →
 * `group.lifecycle.create`, renamed → `group.profile.update` (UserGroup).
 *
 * The Directory records which fields changed, not their values, so changes become events when the
 * log is next read, and the direction of a flag's change (assigned or not, enabled or not, a group
 * assigned or not) is worked back from its value then: each recorded change of a flag flips it, so
 * the last one set today's value, the one before the opposite, and so on. Group memberships are
 * as they are when the log is read; logins and names, as they are when an event is served. Which
 * events a change made never changes afterwards.
 *
 * Query semantics: `since` (default: `until`, or now, minus 7 days; polling compares it with when
 * an event was stored, a bounded query with when it was published), `until` (a bounded query: no
 * `next` after the last page), `limit` 0–1000 (default 100; above 1000 clamped, as the other
 * emulated lists clamp), `filter` (log-filter.ts), ascending persistence order only. A polling
 * query (no `until`) always gets a `next` link, even on an empty page (§1.4). `after` is opaque.
 * A `next` link keeps the query's other parameters, `since` included, and `since` keeps applying
 * to the pages it leads to (a gap in okta.md: this is the reading under which a `since` ahead of
 * Okta's clock, from a client whose clock is fast, would hide events for good; a reader must allow
 * for it).
 *
 * Choices where Okta documents nothing (okta.md §9): an `after` cursor that is malformed, from
 * before `expireCursors()`, or pointing at events past retention is refused with 400 E0000001
 * "Api validation failed: after" and the cause "The cursor is invalid or has expired"; a `since`
 * older than the 90-day retention with 400 E0000001 "Api validation failed: since". `sortOrder`
 * other than ASCENDING and `q` (keyword search) are not emulated and refused with 400, rather than
 * answered wrongly. The target layout follows okta.md §1.4 (itself from a third-party sample); a
 * UserGroup target carries the group name as alternateId and displayName.
 */

const DAY_MS = 86_400_000;
/** Okta keeps System Log events for 90 days. */
export const LOG_RETENTION_MS = 90 * DAY_MS;
const DEFAULT_WINDOW_MS = 7 * DAY_MS;
const LIMIT = { def: 100, max: 1000 } as const;

/** Names an injected event brings along; a made one shows the Directory's. */
interface Names {
  readonly login?: string;
  readonly displayName?: string;
  readonly group?: string;
}

/**
 * One stored event, kept small (a 100,000-user directory makes 100,000 of them): ids only, and the
 * JSON rendered when served, with the login and names the Directory holds then ("unknown" for a
 * user or group since removed). `raw` is an event a test injected as it is, malformed ones included.
 */
type Entry = Made | { readonly at: number; readonly raw: Record<string, unknown> };

interface Made {
  /** When Okta stored it (polling's `since` compares this), which is when it was published unless `published` says otherwise. */
  readonly at: number;
  /** A late event: published earlier than it was stored (a test's injection). */
  readonly published?: number;
  readonly eventType: string;
  readonly userId?: string;
  readonly groupId?: string;
  readonly names?: Names;
  /** The AppInstance target's id, for events about an app. */
  readonly app?: string;
  readonly raw?: undefined;
}

/** What a test may add to the log beyond what the Directory records (a group renamed, an event from another app). */
export interface InjectedEvent {
  eventType: string;
  /** Default: the Directory's now. Earlier makes a late event: stored now, published then. */
  published?: number;
  user?: { id: string; login?: string; displayName?: string };
  group?: { id: string; name?: string };
  /** Adds the AppUser and AppInstance targets; a string names another app. */
  app?: boolean | string;
}

export type LogAnswer =
  | { readonly ok: true; readonly events: unknown[]; readonly after: string | null; readonly page: number }
  | { readonly ok: false; readonly summary: string; readonly cause?: string };

interface Cursor {
  readonly epoch: number;
  /** Ordinal of the next event to look at. */
  readonly pos: number;
  readonly page: number;
}

const DISPLAY: Record<string, readonly [legacy: string, message: string]> = {
  'application.user_membership.add': ['app.generic.provision.assign_user_to_app', 'Add user to application membership'],
  'application.user_membership.remove': ['app.generic.unauth_app_access_attempt', 'Remove users from application membership'],
  'application.user_membership.update': ['app.user_management.update_app_user_profile', 'Update user application membership'],
  'group.user_membership.add': ['group.user_membership.add', 'Add user to group membership'],
  'group.user_membership.remove': ['group.user_membership.remove', 'Remove user from group membership'],
  'group.application_assignment.add': ['app.generic.config.app_group_assignment', 'Add assigned application to group'],
  'group.application_assignment.remove': ['app.generic.config.app_group_unassignment', 'Remove assigned application from group'],
  'group.lifecycle.create': ['core.user_group.created', 'Create Okta group'],
  'group.profile.update': ['core.user_group.profile.updated', 'Update Okta group profile'],
  'user.lifecycle.create': ['core.user.config.user_creation.success', 'Create Okta user'],
  'user.lifecycle.deactivate': ['core.user.config.user_deactivated', 'Deactivate Okta user'],
  'user.lifecycle.reactivate': ['core.user.config.user_activated', 'Reactivate Okta user'],
  'user.lifecycle.activate': ['core.user.config.user_activated', 'Activate Okta user'],
  'user.lifecycle.delete.initiated': ['core.user.config.user_deleted', 'Delete Okta user'],
  'user.account.update_profile': ['core.user.config.profile_update.success', 'Update user profile for Okta'],
};

const ACTOR = { id: '00usandboxadmin0001', type: 'User', alternateId: 'admin@sandbox.example', displayName: 'Sandbox Admin', detailEntry: null } as const;

export interface SystemLogOptions {
  directory: Directory;
  appId: string;
  /** Whether an assigned group gives the user the app now (a group assignment Okta has applied). */
  viaGroup: (u: DirectoryUser) => boolean;
}

/** A flag whose changes flip it: a user's `enabled` or `assigned`, a group's `assigned`. */
type FlagKey = string;

function flagsOf(c: DirectoryChange): FlagKey[] {
  if (c.kind === 'user-changed') return c.fields.filter((f) => f === 'enabled' || f === 'assigned').map((f) => `user:${c.userId}:${f}`);
  if (c.kind === 'group-assignment') return [`group:${c.groupId}`];
  return [];
}

export class SystemLog {
  private readonly directory: Directory;
  private readonly appId: string;
  private readonly viaGroup: (u: DirectoryUser) => boolean;
  /** While catching up: how many changes of each flag are still to come in the batch. */
  private pending = new Map<FlagKey, number>();
  private entries: Entry[] = [];
  /** Ordinal of entries[0]: events before it are past retention or pruned. */
  private first = 0;
  /** The Directory change seq up to which events were made. */
  private processed = 0;
  private epoch = 1;
  private readonly uuidPrefix = randomBytes(4).toString('hex');
  retentionMs = LOG_RETENTION_MS;

  constructor(opts: SystemLogOptions) {
    this.directory = opts.directory;
    this.appId = opts.appId;
    this.viaGroup = opts.viaGroup;
  }

  /** "Expire the cursor" fault: every `after` handed out so far is refused from now on. */
  expireCursors(): void {
    this.epoch++;
  }

  /**
   * Forgets every event so far, and every Directory change not yet turned into one, as if they had
   * aged past retention: a seeded directory (or the benchmark's 100,000 users) starts with a quiet
   * log. Cursors into the forgotten part are refused as expired.
   */
  prune(): void {
    this.catchUp();
    this.first += this.entries.length;
    this.entries = [];
  }

  /** Adds an event at the end of the log, after every Directory change so far. */
  inject(e: InjectedEvent): void {
    this.catchUp();
    const app = e.app === undefined || e.app === false ? undefined : e.app === true ? this.appId : e.app;
    const names: Names = {
      ...(e.user?.login !== undefined ? { login: e.user.login } : {}),
      ...(e.user?.displayName !== undefined ? { displayName: e.user.displayName } : {}),
      ...(e.group?.name !== undefined ? { group: e.group.name } : {}),
    };
    this.push(this.directory.now(), e.eventType, {
      ...(e.published !== undefined ? { published: e.published } : {}),
      ...(e.user ? { userId: e.user.id } : {}),
      ...(e.group ? { groupId: e.group.id } : {}),
      ...(app ? { app } : {}),
      ...(Object.keys(names).length > 0 ? { names } : {}),
    });
  }

  /** Adds a raw event JSON, as it is, at the end of the log (one without targets, for instance); the filter sees its fields. */
  injectRaw(event: Record<string, unknown>, at = this.directory.now()): void {
    this.catchUp();
    this.entries.push({ at, raw: event });
  }

  /** Events currently kept (after retention), for tests. */
  get size(): number {
    this.catchUp();
    return this.entries.length;
  }

  /** One page of `GET /api/v1/logs`. */
  query(q: URLSearchParams): LogAnswer {
    this.catchUp();
    const now = this.directory.now();
    this.dropExpired(now);

    let limit: number = LIMIT.def;
    const limitParam = q.get('limit');
    if (limitParam !== null) {
      const n = Number(limitParam);
      if (!Number.isInteger(n) || n < 0) return { ok: false, summary: 'Api validation failed: limit' };
      limit = Math.min(LIMIT.max, n);
    }
    const sortOrder = q.get('sortOrder');
    if (sortOrder !== null && sortOrder !== 'ASCENDING') return { ok: false, summary: 'Api validation failed: sortOrder', cause: 'only ASCENDING is emulated' };
    if (q.get('q') !== null) return { ok: false, summary: 'Api validation failed: q', cause: 'keyword search is not emulated' };
    let filter: LogFilter | null = null;
    const filterText = q.get('filter');
    if (filterText !== null) {
      try {
        filter = parseLogFilter(filterText);
      } catch (err) {
        return { ok: false, summary: 'Api validation failed: filter', cause: err instanceof LogFilterError ? err.message : String(err) };
      }
    }
    const until = q.get('until') === null ? null : Date.parse(q.get('until') as string);
    if (until !== null && Number.isNaN(until)) return { ok: false, summary: 'Api validation failed: until' };
    const since = q.get('since') === null ? (until ?? now) - DEFAULT_WINDOW_MS : Date.parse(q.get('since') as string);
    if (Number.isNaN(since)) return { ok: false, summary: 'Api validation failed: since' };
    const afterParam = q.get('after');
    // Where a cursor points is checked below; a `since` carried along in its link is not re-judged.
    if (afterParam === null && since < now - this.retentionMs) return { ok: false, summary: 'Api validation failed: since', cause: 'since must be within the last 90 days' };

    let cursor: Cursor | null = null;
    if (afterParam !== null) {
      cursor = decodeCursor(afterParam);
      const end = this.first + this.entries.length;
      if (cursor === null || cursor.epoch !== this.epoch || cursor.pos < this.first || cursor.pos > end) {
        return { ok: false, summary: 'Api validation failed: after', cause: 'The cursor is invalid or has expired' };
      }
    }

    const events: unknown[] = [];
    const end = this.first + this.entries.length;
    let pos = cursor?.pos ?? this.first;
    while (pos < end && events.length < limit) {
      const e = this.entries[pos - this.first] as Entry;
      pos++;
      // Polling bounds persistence time; a bounded query, the published time (okta.md §1.4).
      const t = until === null ? e.at : (e.raw ? e.at : (e.published ?? e.at));
      if (t < since) continue;
      if (until !== null && t >= until) continue;
      if (filter && !filter(this.filterable(e))) continue;
      events.push(this.render(e, pos - 1));
    }
    const page = cursor?.page ?? 1;
    // Polling always has a next link (§1.4); a bounded query only while a full page may have more.
    const more = until === null || (events.length === limit && pos < end);
    return { ok: true, events, after: more ? encodeCursor({ epoch: this.epoch, pos, page: page + 1 }) : null, page };
  }

  /** Turns the Directory changes made since the last read into events. */
  private catchUp(): void {
    const batch = this.directory.changesSince(this.processed);
    this.pending = new Map();
    for (const c of batch) for (const k of flagsOf(c)) this.pending.set(k, (this.pending.get(k) ?? 0) + 1);
    for (const c of batch) {
      for (const k of flagsOf(c)) this.pending.set(k, (this.pending.get(k) as number) - 1);
      this.derive(c);
      this.processed = c.seq;
    }
    this.pending = new Map();
  }

  /** A flag's value right after the change being derived: today's, flipped once per later change of it. */
  private flag(key: FlagKey, now: boolean): boolean {
    return (this.pending.get(key) ?? 0) % 2 === 0 ? now : !now;
  }

  private hasApp(u: DirectoryUser, assigned = u.assigned): boolean {
    return assigned || this.viaGroup(u);
  }

  private dropExpired(now: number): void {
    let n = 0;
    while (n < this.entries.length && (this.entries[n] as Entry).at < now - this.retentionMs) n++;
    if (n === 0) return;
    this.entries.splice(0, n);
    this.first += n;
  }

  private push(at: number, eventType: string, parts: { userId?: string; groupId?: string; app?: string; published?: number; names?: Names }): void {
    this.entries.push({ at, eventType, ...parts });
  }

  private derive(c: DirectoryChange): void {
    const d = this.directory;
    switch (c.kind) {
      case 'user-added': {
        const u = d.users.get(c.userId);
        // Removed before the log was read: its removal has an event of its own.
        if (!u) return;
        if (this.hasApp(u, this.flag(`user:${u.id}:assigned`, u.assigned))) this.push(c.at, 'application.user_membership.add', { userId: u.id, app: this.appId });
        else this.push(c.at, 'user.lifecycle.create', { userId: u.id });
        return;
      }
      case 'user-removed':
        this.push(c.at, 'user.lifecycle.delete.initiated', { userId: c.userId });
        return;
      case 'user-changed': {
        const u = d.users.get(c.userId);
        if (!u) return;
        const fields = new Set(c.fields);
        const assigned = fields.has('assigned') ? this.flag(`user:${u.id}:assigned`, u.assigned) : u.assigned;
        const hasApp = this.hasApp(u, assigned);
        let appEvent: string | null = null;
        // A direct assignment removed while a group still gives the app only changes its scope.
        if (fields.has('assigned')) appEvent = assigned ? 'application.user_membership.add' : hasApp ? 'application.user_membership.update' : 'application.user_membership.remove';
        // The docker* attributes are the app profile, which only an app user has.
        if (fields.has('attributes') && hasApp && appEvent === null) appEvent = 'application.user_membership.update';
        if (appEvent) this.push(c.at, appEvent, { userId: u.id, app: this.appId });
        if (fields.has('enabled')) this.push(c.at, this.flag(`user:${u.id}:enabled`, u.enabled) ? 'user.lifecycle.activate' : 'user.lifecycle.deactivate', { userId: u.id });
        if (fields.has('email') || fields.has('givenName') || fields.has('familyName')) this.push(c.at, 'user.account.update_profile', { userId: u.id });
        return;
      }
      case 'member-added':
      case 'member-removed': {
        const g = d.groups.get(c.groupId);
        const u = d.users.get(c.userId);
        if (!g || !u) return;
        const added = c.kind === 'member-added';
        this.push(c.at, added ? 'group.user_membership.add' : 'group.user_membership.remove', { userId: u.id, groupId: g.id });
        // Joining or leaving an assigned group gives or takes the app unless something else grants it.
        if (g.assigned && !u.assigned && !d.assignedGroups().some((o) => o !== g && o.members.has(u.id))) {
          if (added && this.viaGroup(u)) this.push(c.at, 'application.user_membership.add', { userId: u.id, app: this.appId });
          if (!added) this.push(c.at, 'application.user_membership.remove', { userId: u.id, app: this.appId });
        }
        return;
      }
      case 'group-added': {
        const g = d.groups.get(c.groupId);
        if (g) this.push(c.at, 'group.lifecycle.create', { groupId: g.id });
        return;
      }
      case 'group-assignment': {
        const g = d.groups.get(c.groupId);
        if (g) this.push(c.at, this.flag(`group:${g.id}`, g.assigned) ? 'group.application_assignment.add' : 'group.application_assignment.remove', { groupId: g.id, app: this.appId });
        return;
      }
      case 'group-renamed': {
        const g = d.groups.get(c.groupId);
        // The UserGroup target shows the name the group has when the event is served.
        if (g) this.push(c.at, 'group.profile.update', { groupId: g.id });
        return;
      }
      case 'group-nested':
        // Okta has no nested groups.
        return;
      case 'group-push':
        // The feed asks the mappings API by time; Okta's push job events are not emulated.
        return;
    }
  }

  private targets(e: Made): Array<{ id: string; type: string; alternateId: string; displayName: string; detailEntry: null }> {
    const appId = e.app ?? this.appId;
    const app = { id: appId, type: 'AppInstance', alternateId: 'Docker', displayName: 'Docker', detailEntry: null };
    const out: Array<{ id: string; type: string; alternateId: string; displayName: string; detailEntry: null }> = [];
    let user = null;
    if (e.userId !== undefined) {
      const u = this.directory.users.get(e.userId);
      const login = e.names?.login ?? u?.email ?? 'unknown';
      const displayName = e.names?.displayName ?? ((u ? [u.givenName, u.familyName].filter(Boolean).join(' ') : '') || 'unknown');
      user = { id: e.userId, type: 'User', alternateId: login, displayName, detailEntry: null };
    }
    let group = null;
    if (e.groupId !== undefined) {
      const name = e.names?.group ?? this.directory.groups.get(e.groupId)?.name ?? 'unknown';
      group = { id: e.groupId, type: 'UserGroup', alternateId: name, displayName: name, detailEntry: null };
    }
    if (e.eventType.startsWith('application.user_membership')) {
      if (user) out.push({ ...user, id: appUserId(appId, user.id), type: 'AppUser' });
      out.push(app);
      if (user) out.push(user);
      return out;
    }
    if (group) out.push(group);
    if (user) out.unshift(user);
    if (e.app) out.push(app);
    return out;
  }

  private filterable(e: Entry): FilterableEvent {
    if (e.raw) return rawFilterable(e.raw);
    const [legacy] = DISPLAY[e.eventType] ?? [e.eventType];
    return { eventType: e.eventType, legacyEventType: legacy, severity: 'INFO', actor: ACTOR, target: this.targets(e) };
  }

  private render(e: Entry, ordinal: number): unknown {
    if (e.raw) return e.raw;
    const [legacy, message] = DISPLAY[e.eventType] ?? [e.eventType, e.eventType];
    const n = ordinal.toString(16).padStart(12, '0');
    return {
      actor: ACTOR,
      client: { userAgent: { rawUserAgent: 'sandbox', os: 'Unknown', browser: 'UNKNOWN' }, zone: 'null', device: 'Computer', id: null, ipAddress: '127.0.0.1', geographicalContext: null },
      device: null,
      authenticationContext: { authenticationProvider: null, credentialProvider: null, credentialType: null, issuer: null, interface: null, authenticationStep: 0, externalSessionId: 'unknown' },
      displayMessage: message,
      eventType: e.eventType,
      outcome: { result: 'SUCCESS', reason: null },
      published: new Date(e.published ?? e.at).toISOString(),
      securityContext: { asNumber: null, asOrg: null, isp: null, domain: null, isProxy: null },
      severity: 'INFO',
      debugContext: { debugData: { requestId: `sandbox${n}` } },
      legacyEventType: legacy,
      transaction: { type: 'WEB', id: `sandbox${n}`, detail: {} },
      uuid: `${this.uuidPrefix}-${n.slice(0, 4)}-11ef-8478-${n}`,
      version: '0',
      request: { ipChain: [{ ip: '127.0.0.1', geographicalContext: null, version: 'V4', source: null }] },
      target: this.targets(e),
    };
  }
}

/**
 * The AppUser target's id (`0ua…`): Okta's id of the assignment, not of the user (okta.md §1.4).
 * Derived so it is stable, and shares nothing with the user id a reader must join on instead.
 */
export function appUserId(appId: string, userId: string): string {
  return `0ua${createHash('sha256').update(`${appId}/${userId}`).digest('base64url').replace(/[-_]/g, 'x').slice(0, 17)}`;
}

function rawFilterable(raw: Record<string, unknown>): FilterableEvent {
  const s = (v: unknown) => (typeof v === 'string' ? v : '');
  const actor = (raw.actor ?? {}) as Record<string, unknown>;
  const targets = Array.isArray(raw.target) ? (raw.target as unknown[]) : [];
  return {
    eventType: s(raw.eventType),
    legacyEventType: s(raw.legacyEventType),
    severity: s(raw.severity),
    actor: { id: s(actor.id), alternateId: s(actor.alternateId) },
    target: targets.map((t) => {
      const o = (t ?? {}) as Record<string, unknown>;
      return { id: s(o.id), type: s(o.type), alternateId: s(o.alternateId) };
    }),
  };
}

function encodeCursor(c: Cursor): string {
  return Buffer.from(JSON.stringify([c.epoch, c.pos, c.page])).toString('base64url');
}

function decodeCursor(raw: string): Cursor | null {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || !v.every((x) => Number.isInteger(x))) return null;
    return { epoch: v[0] as number, pos: v[1] as number, page: v[2] as number };
  } catch {
    return null;
  }
}
