import type { FeedCursor } from '../../model/idp.ts';

/**
 * The Entra change feed's cursor: everything the next `changesSince` needs, as one opaque string the
 * state file keeps. Pure: no I/O. Graph keeps no history of app role assignments (entra-graph.md
 * §1.1: they have no delta), so the cursor carries the assignment listing it was made with, and the
 * next call compares it with a fresh one. At 100,000 directly assigned users that listing is the
 * bulk of the cursor: object ids are GUIDs, so they are kept as 16 bytes each (base64url), about
 * 2.1 MB instead of 3.9 MB as JSON text; an id that is not a lower-case GUID is kept as it is.
 */

export const CURSOR_VERSION = 1;

export interface FeedState {
  /**
   * What the links were made for (appId, the users' `$select`, group membership mode). A cursor
   * made under other settings is refused as expired: its delta links would track other properties
   * or other groups.
   */
  readonly settings: string;
  /** `users/delta` deltaLink. */
  readonly users: string;
  /** `groups/delta` deltaLinks, each filtered on at most 50 of `watched`. */
  readonly groups: readonly string[];
  /** The groups those links track: the assigned ones, and in transitive mode every group nested in them. */
  readonly watched: readonly string[];
  /** Watched group id → its displayName: to see an assigned group's rename (which moves every member to another team), and to name groups in reasons. */
  readonly names: Readonly<Record<string, string>>;
  /** The Docker app's app roles, id (lower case) → value: one removed or given another value changes every holder's role. */
  readonly roles: Readonly<Record<string, string>>;
  /** Directly assigned user → its app role ids, sorted, lower case, joined with ','. */
  readonly assignedUsers: ReadonlyMap<string, string>;
  /** Assigned group → its app role ids, as for users. */
  readonly assignedGroups: ReadonlyMap<string, string>;
}

interface Wire {
  v: number;
  s: string;
  u: string;
  g: string[];
  w: string[];
  n: Record<string, string>;
  r: Record<string, string>;
  /** Users by role key: packed GUIDs, and other ids as they are. */
  au: Array<{ k: string; p: string; o: string[] }>;
  ag: Record<string, string>;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function encodeCursor(s: FeedState): FeedCursor {
  // One buffer a role, written in place: not 100,000 small buffers to concatenate.
  const byRole = new Map<string, { guids: string[]; other: string[] }>();
  for (const [id, key] of [...s.assignedUsers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    let slot = byRole.get(key);
    if (!slot) byRole.set(key, (slot = { guids: [], other: [] }));
    if (GUID.test(id)) slot.guids.push(id);
    else slot.other.push(id);
  }
  const pack = (guids: readonly string[]): string => {
    const buf = Buffer.allocUnsafe(guids.length * 16);
    guids.forEach((g, i) => {
      const at = i * 16;
      buf.write(g.slice(0, 8), at, 'hex');
      buf.write(g.slice(9, 13), at + 4, 'hex');
      buf.write(g.slice(14, 18), at + 6, 'hex');
      buf.write(g.slice(19, 23), at + 8, 'hex');
      buf.write(g.slice(24), at + 10, 'hex');
    });
    return buf.toString('base64url');
  };
  const wire: Wire = {
    v: CURSOR_VERSION,
    s: s.settings,
    u: s.users,
    g: [...s.groups],
    w: [...s.watched],
    n: { ...s.names },
    r: { ...s.roles },
    au: [...byRole].map(([k, slot]) => ({ k, p: pack(slot.guids), o: slot.other })),
    ag: Object.fromEntries(s.assignedGroups),
  };
  return JSON.stringify(wire);
}

/** The state in a cursor, or null when it is not one this version wrote (the caller reads everything then). */
export function decodeCursor(cursor: FeedCursor): FeedState | null {
  let w: Partial<Wire>;
  try {
    w = JSON.parse(cursor) as Partial<Wire>;
  } catch {
    return null;
  }
  if (w === null || typeof w !== 'object' || w.v !== CURSOR_VERSION) return null;
  if (typeof w.s !== 'string' || typeof w.u !== 'string') return null;
  if (!strings(w.g) || !strings(w.w) || !Array.isArray(w.au) || !record(w.n) || !record(w.ag) || !record(w.r)) return null;
  const users = new Map<string, string>();
  for (const slot of w.au) {
    if (slot === null || typeof slot !== 'object' || typeof slot.k !== 'string' || typeof slot.p !== 'string' || !strings(slot.o)) return null;
    const bytes = Buffer.from(slot.p, 'base64url');
    if (bytes.length % 16 !== 0) return null;
    for (let i = 0; i < bytes.length; i += 16) users.set(guidOf(bytes.subarray(i, i + 16)), slot.k);
    for (const id of slot.o) users.set(id, slot.k);
  }
  return { settings: w.s, users: w.u, groups: w.g, watched: w.w, names: w.n, roles: w.r, assignedUsers: users, assignedGroups: new Map(Object.entries(w.ag)) };
}

/** Role ids as one comparable key: the same set of roles is the same key, whatever the listing order. */
export function roleKey(roleIds: Iterable<string>): string {
  // Nearly every assignee holds one role: no arrays, set and sort for 100,000 of them.
  if (roleIds instanceof Set && roleIds.size === 1) {
    for (const only of roleIds as Set<string>) return only.toLowerCase();
  }
  return [...new Set([...roleIds].map((r) => r.toLowerCase()))].sort().join(',');
}

function guidOf(b: Buffer): string {
  const h = b.toString('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`;
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function record(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}
