import type { FeedCursor } from '../../model/idp.ts';

/**
 * The Entra change feed's cursor: everything the next `changesSince` needs, as one opaque string the
 * state file keeps. Pure: no I/O. Graph keeps no history of app role assignments (entra-graph.md
 * §1.1: they have no delta), so the cursor carries the assignment listing it was made with, with its
 * digest (listing-digest.ts), and the next call compares a fresh listing with it: by digest first,
 * entry by entry only when the digests differ. At 100,000 directly assigned users that listing is
 * the bulk of the cursor: object ids are GUIDs, so they are kept as 16 bytes each (base64url), about
 * 2.1 MB instead of 3.9 MB as JSON text; an id that is not a lower-case GUID is kept as it is.
 */

/** Version 2 adds the listing's digest; a version 1 cursor is still read (as one whose digest matches nothing). */
export const CURSOR_VERSION = 2;

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
  /** Directly assigned user → its roleKey (app role ids, sorted, lower case, joined with ','). */
  readonly assignedUsers: AssignedUsers;
  /** Assigned group → its roleKey, as for users. */
  readonly assignedGroups: ReadonlyMap<string, string>;
  /** The listingDigest of the assignment listing the two maps above come from; '' when unknown (a version 1 cursor). */
  readonly listingDigest: string;
}

/** Users of one role key: packed GUIDs (base64url of 16 bytes each), and other ids as they are. */
interface Slot {
  k: string;
  p: string;
  o: string[];
}

interface Wire {
  v: number;
  s: string;
  u: string;
  g: string[];
  w: string[];
  n: Record<string, string>;
  r: Record<string, string>;
  au: Slot[];
  ag: Record<string, string>;
  /** listingDigest; absent in version 1. */
  d?: string;
}

const GUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

/**
 * Directly assigned users → roleKey, in either of two forms, each made from the other only when
 * asked for: the map a comparison needs, or the packed slots a cursor stores. Unpacking 100,000
 * GUIDs, and packing them again, is most of what an incremental run with nothing to do would
 * otherwise spend; when the listing's digest matches, the slots read go into the next cursor as
 * they are.
 */
export class AssignedUsers {
  private unpacked: ReadonlyMap<string, string> | null;
  private packedSlots: readonly Slot[] | null;

  private constructor(map: ReadonlyMap<string, string> | null, slots: readonly Slot[] | null) {
    this.unpacked = map;
    this.packedSlots = slots;
  }

  static of(map: ReadonlyMap<string, string>): AssignedUsers {
    return new AssignedUsers(map, null);
  }

  /** From a cursor's slots, or null when they are not ones this code wrote. */
  static packed(slots: unknown): AssignedUsers | null {
    if (!Array.isArray(slots)) return null;
    for (const slot of slots as Array<Partial<Slot> | null>) {
      if (slot === null || typeof slot !== 'object' || typeof slot.k !== 'string' || typeof slot.p !== 'string' || !strings(slot.o)) return null;
      // Checked here, not when unpacked: a damaged cursor is refused (a full read follows) up front.
      if (!/^[A-Za-z0-9_-]*$/.test(slot.p) || slot.p.length % 4 === 1 || Math.floor((slot.p.length * 3) / 4) % 16 !== 0) return null;
    }
    return new AssignedUsers(null, slots as Slot[]);
  }

  get map(): ReadonlyMap<string, string> {
    this.unpacked ??= unpack(this.packedSlots as readonly Slot[]);
    return this.unpacked;
  }

  get slots(): readonly Slot[] {
    this.packedSlots ??= pack(this.unpacked as ReadonlyMap<string, string>);
    return this.packedSlots;
  }
}

/** One buffer a role, written in place: not 100,000 small buffers to concatenate. In the map's order: a listing read twice alike packs alike. */
function pack(users: ReadonlyMap<string, string>): Slot[] {
  const byRole = new Map<string, { guids: string[]; other: string[] }>();
  for (const [id, key] of users) {
    let slot = byRole.get(key);
    if (!slot) byRole.set(key, (slot = { guids: [], other: [] }));
    if (id.length === GUID_CHARS && GUID.test(id)) slot.guids.push(id);
    else slot.other.push(id);
  }
  return [...byRole].map(([k, { guids, other }]) => {
    const buf = Buffer.allocUnsafe(guids.length * 16);
    let at = 0;
    // Hex digits decoded here, a character at a time: five Buffer.write calls a GUID cost more.
    for (const g of guids) {
      for (let i = 0; i < GUID_CHARS; i += 2) {
        if (g.charCodeAt(i) === DASH) i += 1;
        buf[at++] = (nibble(g.charCodeAt(i)) << 4) | nibble(g.charCodeAt(i + 1));
      }
    }
    return { k, p: buf.toString('base64url'), o: other };
  });
}

const GUID_CHARS = 36;
const DASH = 45;
const COMMA = 44;
const HEX_DIGITS = Buffer.from('0123456789abcdef');

/** A lower-case hex digit's value (GUID has checked it is one). */
function nibble(code: number): number {
  return code <= 57 ? code - 48 : code - 87;
}

function unpack(slots: readonly Slot[]): Map<string, string> {
  const users = new Map<string, string>();
  for (const slot of slots) {
    // The GUIDs written out as one latin1 text, dashes and commas in place, then split: one string
    // from C++ and one split, rather than five slices and a join for each of 100,000.
    const bytes = Buffer.from(slot.p, 'base64url');
    if (bytes.length > 0) {
      const text = Buffer.allocUnsafe((bytes.length / 16) * (GUID_CHARS + 1));
      let o = 0;
      for (let i = 0; i < bytes.length; i++) {
        const at = i & 15;
        if (at === 4 || at === 6 || at === 8 || at === 10) text[o++] = DASH;
        const b = bytes[i] as number;
        text[o++] = HEX_DIGITS[b >> 4] as number;
        text[o++] = HEX_DIGITS[b & 15] as number;
        if (at === 15) text[o++] = COMMA;
      }
      for (const id of text.toString('latin1', 0, o - 1).split(',')) users.set(id, slot.k);
    }
    for (const id of slot.o) users.set(id, slot.k);
  }
  return users;
}

export function encodeCursor(s: FeedState): FeedCursor {
  const wire: Wire = {
    v: CURSOR_VERSION,
    s: s.settings,
    u: s.users,
    g: [...s.groups],
    w: [...s.watched],
    n: { ...s.names },
    r: { ...s.roles },
    au: [...s.assignedUsers.slots],
    ag: Object.fromEntries(s.assignedGroups),
    d: s.listingDigest,
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
  if (w === null || typeof w !== 'object' || (w.v !== CURSOR_VERSION && w.v !== 1)) return null;
  if (typeof w.s !== 'string' || typeof w.u !== 'string') return null;
  if (!strings(w.g) || !strings(w.w) || !record(w.n) || !record(w.ag) || !record(w.r)) return null;
  if (w.v === CURSOR_VERSION ? typeof w.d !== 'string' : w.d !== undefined) return null;
  const users = AssignedUsers.packed(w.au);
  if (users === null) return null;
  return { settings: w.s, users: w.u, groups: w.g, watched: w.w, names: w.n, roles: w.r, assignedUsers: users, assignedGroups: new Map(Object.entries(w.ag)), listingDigest: w.d ?? '' };
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === 'string');
}

function record(v: unknown): v is Record<string, string> {
  return v !== null && typeof v === 'object' && !Array.isArray(v) && Object.values(v).every((x) => typeof x === 'string');
}
