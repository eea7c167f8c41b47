import type { Directory, DirectoryChange, DirectoryGroup } from '../directory.ts';
import type { EmulatorResponse } from '../http/emulator.ts';
import { GROUP, USER, applySelect, parseSelect, type Selection } from './select.ts';
import { DOCKER_ATTRIBUTES, groupJson, userJson, type GraphView, type Json } from './wire.ts';

/**
 * `GET /users/delta` and `GET /groups/delta` as entra-graph.md §1.5 describes them, served from the
 * Directory's change log:
 * - a first call pages through everything (absolute `$skiptoken` nextLinks on the emulator's origin)
 *   and ends with an `@odata.deltaLink` whose `$deltatoken` encodes the directory version, the time
 *   it was issued, and the first call's `$select` and `$filter` (options go in the first call only);
 * - `$deltatoken=latest` answers no data and a deltaLink at the present end;
 * - a token call answers what changed since: users with the selected properties, deleted ones as
 *   `{"id","@removed":{"reason":"deleted"}}`; groups with `members@delta` (added members, removed
 *   ones with `@removed`);
 * - `$filter=id eq '…' or …` (at most 50 ids); `$expand`, `$top`, `$orderby` refused;
 * - a token past its lifetime (7 days, configurable) answers `410 Gone` with a `Location`; faults
 *   make a token expire early (410, or 400 `syncStateNotFound` / `resyncRequired`), replay changes
 *   already delivered, or put empty pages with nextLinks first.
 *
 * Choices where the reference is silent ([GAP] or [I]), each the one that keeps a reader honest:
 * - With `$select`, only changes to selected properties make an object appear (Graph's delta
 *   overview says so); a change to an app role assignment is no user property and never appears in
 *   `users/delta`, so a reader must re-list assignments to see one (§1.1: assignments have no delta).
 * - `extension_…` names are accepted in a `users/delta` `$select` ([GAP] §9) and tracked like any
 *   selected property. The change log says only that "attributes" changed, not which: every
 *   attribute location counts as changed (an extra entry is a hint, never a wrong answer).
 * - `groups/delta` reports the direct members of each group only ([I]: nested-group changes are not
 *   propagated to the parent); a group nested into another shows as a `#microsoft.graph.group`
 *   member of the parent.
 * - A user deleted from the directory shows as `@removed` in `users/delta`, but not as a member
 *   removal in `groups/delta` (the log does not say which groups held them).
 * - Pages hold DELTA_PAGE_SIZE entries (the real size is undocumented; `pageSize` lowers it).
 */

export const DELTA_PAGE_SIZE = 200;
/** Graph's limit on `$filter=id eq … or …` (§1.5). */
export const MAX_DELTA_IDS = 50;
/** Directory delta tokens last 7 days (§1.5). */
export const DEFAULT_DELTA_TTL_MS = 7 * 24 * 60 * 60 * 1000;
/** Delta listings kept for their `$skiptoken`s; an older one is answered as expired. */
const MAX_SNAPSHOTS = 64;

export type DeltaResource = 'users' | 'groups';

/** How an expired token is answered: 410 Gone (+ Location), or a 400 with one of Graph's two codes. */
export type DeltaExpiry = 'gone' | 'syncStateNotFound' | 'resyncRequired';

/** Fault switches for the delta routes; each is consumed by the token calls it affects. */
export class DeltaFaults {
  /** The next `times` token calls (not first calls, not `latest`) answer as expired. */
  expire: { how: DeltaExpiry; times: number; resource?: DeltaResource } | null = null;
  /** The next token call also re-sends the entries of the `changes` changes before its token, after the new ones: late and repeated. */
  replay: { changes: number; resource?: DeltaResource } | null = null;
  /** The next delta answer starts with this many empty pages, each with a nextLink (§1.5: "a page may be empty yet still have one"). */
  emptyPages = 0;
  /** Every fault that fired, for assertions. */
  readonly fired: string[] = [];

  expireNext(how: DeltaExpiry = 'gone', times = 1, resource?: DeltaResource): this {
    this.expire = { how, times, ...(resource ? { resource } : {}) };
    return this;
  }
}

/** What the delta routes need of the emulator. */
export interface DeltaHost {
  readonly directory: Directory;
  readonly view: GraphView;
  readonly origin: string;
  /** See GraphEmulatorOptions.pageSize. */
  readonly pageSize: number | null;
  registeredExtensions(): string[];
  error(status: number, code: string, message: string, clientRequestId: string, headers?: Record<string, string>): EmulatorResponse;
}

export interface DeltaRequest {
  readonly query: URLSearchParams;
  readonly clientRequestId: string;
}

interface DeltaToken {
  readonly resource: DeltaResource;
  /** Directory version the token stands at: changes after it are what the next call answers. */
  readonly version: number;
  /** Directory clock (ms) when the deltaLink was handed out. */
  readonly issuedAt: number;
  /** `$select` of the first call, as sent; null for the defaults. */
  readonly select: string | null;
  /** `$filter` ids of the first call, or null for everything. */
  readonly ids: readonly string[] | null;
}

interface Snapshot {
  readonly entries: readonly Json[];
  readonly token: DeltaToken;
  readonly emptyPages: number;
}

const TOKEN_TAG = 'DSdelta1';
const SKIP_TAG = 'DSskip1';

export class DeltaRoutes {
  readonly faults = new DeltaFaults();
  /** How long a delta token stays valid, against `directory.now()`. */
  ttlMs: number;
  private readonly host: DeltaHost;
  private readonly snapshots = new Map<number, Snapshot>();
  private nextSnapshot = 1;

  constructor(host: DeltaHost, ttlMs = DEFAULT_DELTA_TTL_MS) {
    this.host = host;
    this.ttlMs = ttlMs;
  }

  reset(): void {
    this.snapshots.clear();
  }

  serve(resource: DeltaResource, req: DeltaRequest): EmulatorResponse {
    const q = req.query;
    for (const name of ['$expand', '$top', '$orderby', '$search', '$count']) {
      if (q.has(name)) return this.host.error(400, 'Request_UnsupportedQuery', `Unsupported query option '${name}' on delta.`, req.clientRequestId);
    }
    const skip = q.get('$skiptoken');
    if (skip !== null) return this.nextPage(resource, skip, req);

    const rawToken = q.get('$deltatoken');
    let token: DeltaToken;
    let entries: Json[];
    if (rawToken === null || rawToken.toLowerCase() === 'latest') {
      const select = q.get('$select');
      const sel = this.selection(resource, select);
      if ('error' in sel) return this.host.error(400, 'Request_BadRequest', sel.error, req.clientRequestId);
      const ids = parseIdFilter(q.get('$filter'));
      if (typeof ids === 'string') return this.host.error(400, 'Request_UnsupportedQuery', ids, req.clientRequestId);
      token = { resource, version: this.host.directory.version, issuedAt: this.host.directory.now(), select, ids };
      entries = rawToken === null ? this.everything(resource, sel, ids) : [];
    } else {
      const old = decodeToken(rawToken);
      if (old === null || old.resource !== resource || old.version > this.host.directory.version) {
        return this.host.error(400, 'syncStateNotFound', 'The sync state generation is not found: the delta token is not one this service issued.', req.clientRequestId);
      }
      const expired = this.takeExpiry(resource) ?? (this.host.directory.now() - old.issuedAt > this.ttlMs ? 'gone' : null);
      if (expired) return this.expired(resource, expired, req);
      const sel = this.selection(resource, old.select);
      if ('error' in sel) return this.host.error(400, 'Request_BadRequest', sel.error, req.clientRequestId);
      token = { ...old, version: this.host.directory.version, issuedAt: this.host.directory.now() };
      entries = this.since(resource, old.version, sel, old.ids);
      const replay = this.faults.replay;
      if (replay && (replay.resource === undefined || replay.resource === resource)) {
        this.faults.replay = null;
        this.faults.fired.push(`replay ${resource}`);
        entries = [...entries, ...this.since(resource, Math.max(0, old.version - replay.changes), sel, old.ids, old.version)];
      }
    }
    const emptyPages = this.faults.emptyPages;
    if (emptyPages > 0) {
      this.faults.emptyPages = 0;
      this.faults.fired.push(`empty pages ${resource}`);
    }
    const id = this.nextSnapshot++;
    this.snapshots.set(id, { entries, token, emptyPages });
    if (this.snapshots.size > MAX_SNAPSHOTS) this.snapshots.delete(this.snapshots.keys().next().value as number);
    return this.page(resource, id, 0, 1);
  }

  private nextPage(resource: DeltaResource, raw: string, req: DeltaRequest): EmulatorResponse {
    const skip = decodeSkip(raw);
    const snap = skip ? this.snapshots.get(skip.snapshot) : undefined;
    if (!skip || !snap || snap.token.resource !== resource) {
      return this.host.error(400, 'Directory_ExpiredPageToken', 'The specified page token value has expired and can no longer be included in your request.', req.clientRequestId);
    }
    return this.page(resource, skip.snapshot, skip.offset, skip.page);
  }

  /** Page `page` of a snapshot: empty pages first (by fault), then the entries, the last page with the deltaLink. */
  private page(resource: DeltaResource, snapshot: number, offset: number, page: number): EmulatorResponse {
    const snap = this.snapshots.get(snapshot) as Snapshot;
    const size = Math.max(1, Math.min(DELTA_PAGE_SIZE, this.host.pageSize ?? DELTA_PAGE_SIZE));
    const empty = page <= snap.emptyPages;
    const value = empty ? [] : snap.entries.slice(offset, offset + size);
    const nextOffset = empty ? offset : offset + size;
    const body: Json = { '@odata.context': `${this.host.origin}/v1.0/$metadata#${resource}/delta` };
    if (empty || nextOffset < snap.entries.length) {
      body['@odata.nextLink'] = `${this.host.origin}/v1.0/${resource}/delta?$skiptoken=${encodeSkip({ snapshot, offset: nextOffset, page: page + 1 })}`;
    } else {
      body['@odata.deltaLink'] = `${this.host.origin}/v1.0/${resource}/delta?$deltatoken=${encodeToken(snap.token)}`;
    }
    body.value = value;
    return { status: 200, body, page };
  }

  private takeExpiry(resource: DeltaResource): DeltaExpiry | null {
    const e = this.faults.expire;
    if (!e || e.times <= 0 || (e.resource !== undefined && e.resource !== resource)) return null;
    e.times -= 1;
    if (e.times <= 0) this.faults.expire = null;
    this.faults.fired.push(`expire ${resource} ${e.how}`);
    return e.how;
  }

  private expired(resource: DeltaResource, how: DeltaExpiry, req: DeltaRequest): EmulatorResponse {
    if (how === 'gone') {
      // An empty $deltatoken in Location: start over with a full round (§1.5).
      return this.host.error(410, 'resyncRequired', 'Resync required. The delta token is no longer valid; replace local data with a full synchronization.', req.clientRequestId, {
        location: `${this.host.origin}/v1.0/${resource}/delta?$deltatoken=`,
      });
    }
    return how === 'syncStateNotFound'
      ? this.host.error(400, 'syncStateNotFound', 'The sync state generation is not found: the delta token has expired.', req.clientRequestId)
      : this.host.error(400, 'resyncRequired', 'Resync required. The delta token is no longer valid.', req.clientRequestId);
  }

  private selection(resource: DeltaResource, raw: string | null): Selection | { error: string } {
    return resource === 'users' ? parseSelect(raw, [USER], this.host.registeredExtensions()) : parseGroupSelect(raw);
  }

  // ── what an answer holds ───────────────────────────────────────────────────────────────────────

  /** A first call: every user, or every group with all its members, in id order. */
  private everything(resource: DeltaResource, sel: Selection, ids: readonly string[] | null): Json[] {
    const dir = this.host.directory;
    const wanted = ids ? new Set(ids.map((i) => i.toLowerCase())) : null;
    const keep = (id: string) => wanted === null || wanted.has(id.toLowerCase());
    if (resource === 'users') {
      return [...dir.users.values()].filter((u) => keep(u.id)).sort(byId).map((u) => applySelect(userJson(u, this.host.view), USER, sel));
    }
    return [...dir.groups.values()]
      .filter((g) => keep(g.id))
      .sort(byId)
      .map((g) => this.groupEntry(g, sel, allMembers(g)));
  }

  /** Changes after `from` (up to `to`, default the present), as delta entries. */
  private since(resource: DeltaResource, from: number, sel: Selection, ids: readonly string[] | null, to = Infinity): Json[] {
    const changes = changesAfter(this.host.directory, from).filter((c) => c.seq <= to);
    const wanted = ids ? new Set(ids.map((i) => i.toLowerCase())) : null;
    const keep = (id: string) => wanted === null || wanted.has(id.toLowerCase());
    return resource === 'users' ? this.userEntries(changes, sel, keep) : this.groupEntries(changes, sel, keep);
  }

  private userEntries(changes: readonly DirectoryChange[], sel: Selection, keep: (id: string) => boolean): Json[] {
    const dir = this.host.directory;
    const tracked = new Set(sel.kind === 'default' ? USER.defaults : sel.names);
    // One entry per user, in the order first changed.
    const touched = new Map<string, boolean>();
    for (const c of changes) {
      if (!('userId' in c) || c.kind === 'member-added' || c.kind === 'member-removed' || !keep(c.userId)) continue;
      // Added and removed users always appear; a changed one only for a change to a tracked property.
      const relevant = c.kind !== 'user-changed' || c.fields.some((f) => this.propertiesOf(f).some((p) => tracked.has(p)));
      touched.set(c.userId, (touched.get(c.userId) ?? false) || relevant);
    }
    const out: Json[] = [];
    for (const [id, relevant] of touched) {
      if (!relevant) continue;
      const u = dir.users.get(id);
      out.push(u ? applySelect(userJson(u, this.host.view), USER, sel) : { id, '@removed': { reason: 'deleted' } });
    }
    return out;
  }

  /** The Graph properties a Directory field shows as (see DirectoryChange's `fields`). */
  private propertiesOf(field: string): string[] {
    switch (field) {
      case 'enabled':
        return ['accountEnabled'];
      case 'email':
      case 'entra':
        return ['userPrincipalName', 'mail', 'displayName', 'userType'];
      case 'givenName':
        return ['givenName', 'displayName'];
      case 'familyName':
        return ['surname', 'displayName'];
      case 'attributes': {
        const out: string[] = [];
        for (const attr of DOCKER_ATTRIBUTES) {
          const loc = this.host.view.locations[attr];
          if (loc === 'extension') out.push(this.host.view.extensionName(attr));
          else if (typeof loc === 'object') out.push('onPremisesExtensionAttributes');
          // 'appRole': the value lives on the assignment, not the user.
        }
        return out;
      }
      // `assigned`: an app role assignment, not a user property.
      default:
        return [];
    }
  }

  private groupEntries(changes: readonly DirectoryChange[], sel: Selection, keep: (id: string) => boolean): Json[] {
    const dir = this.host.directory;
    const tracksMembers = sel.kind === 'some' && sel.names.includes('members');
    // Per group: member id → its latest state, in the order first changed; null when only the group itself changed.
    const touched = new Map<string, Map<string, MemberDelta>>();
    const touch = (groupId: string) => {
      let m = touched.get(groupId);
      if (!m) touched.set(groupId, (m = new Map()));
      return m;
    };
    for (const c of changes) {
      if (!('groupId' in c) || !keep(c.groupId)) continue;
      const g = dir.groups.get(c.groupId);
      if (c.kind === 'group-added') {
        const m = touch(c.groupId);
        if (g) for (const d of allMembers(g)) m.set(d.id, d);
      } else if (c.kind === 'member-added' || c.kind === 'member-removed') {
        if (!tracksMembers) continue;
        touch(c.groupId).set(c.userId, { id: c.userId, type: 'user', removed: c.kind === 'member-removed' });
      } else if (c.kind === 'group-nested') {
        // The log names the parent only: every group nested in it now is reported as a member.
        if (!tracksMembers || !g) continue;
        const m = touch(c.groupId);
        for (const child of g.groupMembers) m.set(child, { id: child, type: 'group', removed: false });
      } else if (c.kind === 'group-renamed') {
        // A property of the group changed: Graph reports the group, with its new displayName.
        touch(c.groupId);
      }
      // 'group-assignment': an app role assignment, not a group property; 'group-push' is Okta's.
    }
    const out: Json[] = [];
    for (const [id, members] of touched) {
      const g = dir.groups.get(id);
      if (!g) {
        out.push({ id, '@removed': { reason: 'deleted' } });
        continue;
      }
      out.push(this.groupEntry(g, sel, [...members.values()]));
    }
    return out;
  }

  private groupEntry(g: DirectoryGroup, sel: Selection, members: readonly MemberDelta[]): Json {
    const names = sel.kind === 'default' ? GROUP.defaults : sel.names.filter((n) => n !== 'members');
    const body = applySelect(groupJson(g), GROUP, { kind: 'some', names });
    if (sel.kind === 'some' && sel.names.includes('members')) {
      body['members@delta'] = members.map((m) => ({
        '@odata.type': m.type === 'user' ? '#microsoft.graph.user' : '#microsoft.graph.group',
        id: m.id,
        ...(m.removed ? { '@removed': { reason: 'deleted' } } : {}),
      }));
    }
    return body;
  }
}

interface MemberDelta {
  readonly id: string;
  readonly type: 'user' | 'group';
  readonly removed: boolean;
}

function allMembers(g: DirectoryGroup): MemberDelta[] {
  return [
    ...[...g.members].sort().map((id): MemberDelta => ({ id, type: 'user', removed: false })),
    ...[...g.groupMembers].sort().map((id): MemberDelta => ({ id, type: 'group', removed: false })),
  ];
}

/**
 * Changes after version `seq`, found by `seq` rather than by position: the log may have gaps where
 * the version was bumped without a record (the bench's bulk population does that), and a position
 * computed from the first `seq` would then skip real changes.
 */
export function changesAfter(dir: Directory, seq: number): DirectoryChange[] {
  const log = dir.changes;
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid] as DirectoryChange).seq <= seq) lo = mid + 1;
    else hi = mid;
  }
  return log.slice(lo);
}

/** `$select` for groups/delta: the group's properties plus the `members` navigation. */
function parseGroupSelect(raw: string | null): Selection | { error: string } {
  if (raw === null) return { kind: 'default' };
  const names = new Set<string>(['id']);
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    if (name.toLowerCase() === 'members') {
      names.add('members');
      continue;
    }
    const canonical = GROUP.properties.find((p) => p.toLowerCase() === name.toLowerCase());
    if (canonical === undefined) return { error: `Could not find a property named '${name}' on type 'microsoft.graph.group'.` };
    names.add(canonical);
  }
  return { kind: 'some', names: [...names] };
}

/** `id eq 'a' or id eq 'b'` → the ids; anything else, or more than 50, is why it is refused. */
export function parseIdFilter(raw: string | null): string[] | null | string {
  if (raw === null) return null;
  const ids: string[] = [];
  for (const part of raw.split(/\s+or\s+/i)) {
    const m = /^\s*id\s+eq\s+'([^']*)'\s*$/i.exec(part);
    if (!m) return `Unsupported filter on delta: only "id eq '<id>'" joined with "or" is supported, not ${JSON.stringify(raw.slice(0, 80))}.`;
    ids.push(m[1] as string);
  }
  if (ids.length > MAX_DELTA_IDS) return `Too many ids in the delta filter: ${ids.length}, at most ${MAX_DELTA_IDS}.`;
  return ids;
}

function encodeToken(t: DeltaToken): string {
  return Buffer.from(JSON.stringify([TOKEN_TAG, t.resource, t.version, t.issuedAt, t.select, t.ids])).toString('base64url');
}

function decodeToken(raw: string): DeltaToken | null {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v[0] !== TOKEN_TAG) return null;
    const [, resource, version, issuedAt, select, ids] = v as [string, unknown, unknown, unknown, unknown, unknown];
    if ((resource !== 'users' && resource !== 'groups') || typeof version !== 'number' || typeof issuedAt !== 'number') return null;
    if (select !== null && typeof select !== 'string') return null;
    if (ids !== null && !(Array.isArray(ids) && ids.every((i) => typeof i === 'string'))) return null;
    return { resource, version, issuedAt, select, ids: ids as string[] | null };
  } catch {
    return null;
  }
}

function encodeSkip(s: { snapshot: number; offset: number; page: number }): string {
  return Buffer.from(JSON.stringify([SKIP_TAG, s.snapshot, s.offset, s.page])).toString('base64url');
}

function decodeSkip(raw: string): { snapshot: number; offset: number; page: number } | null {
  try {
    const v = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8')) as unknown;
    if (!Array.isArray(v) || v[0] !== SKIP_TAG || typeof v[1] !== 'number' || typeof v[2] !== 'number' || typeof v[3] !== 'number') return null;
    return { snapshot: v[1], offset: v[2], page: v[3] };
  } catch {
    return null;
  }
}

function byId(a: { id: string }, b: { id: string }): number {
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}
