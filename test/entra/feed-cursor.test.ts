import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AssignedUsers, CURSOR_VERSION, decodeCursor, encodeCursor, type FeedState } from '../../src/sources/entra/feed-cursor.ts';
import { listingDigest } from '../../src/sources/entra/listing-digest.ts';
import { roleKey } from '../../src/sources/entra/transform.ts';

const users = new Map([
  ['0f8fad5b-d9cb-469f-a165-70867728950e', 'r1'],
  ['7c9e6679-7425-40de-944b-e07fc1f90ae7', 'r2'],
  ['ffffffff-ffff-4fff-bfff-ffffffffffff', 'r1'],
  ['not-a-guid', 'r1'],
]);

function stateWith(assigned: AssignedUsers): FeedState {
  return {
    settings: 's1',
    users: 'https://graph.example/v1.0/users/delta?$deltatoken=a',
    groups: ['https://graph.example/v1.0/groups/delta?$deltatoken=b'],
    watched: ['g1'],
    names: { g1: 'acme:platform' },
    roles: { r1: 'editor' },
    assignedUsers: assigned,
    assignedGroups: new Map([['g1', 'r1']]),
    listingDigest: 'd1',
  };
}

describe('the Entra feed cursor', () => {
  it('round-trips every field, GUIDs packed and other ids kept as they are', () => {
    const text = encodeCursor(stateWith(AssignedUsers.of(users)));
    const back = decodeCursor(text);
    expect(back).not.toBeNull();
    const { assignedUsers, ...rest } = back as FeedState;
    const { assignedUsers: _, ...restBefore } = stateWith(AssignedUsers.of(users));
    expect(rest).toEqual(restBefore);
    expect([...assignedUsers.map].sort()).toEqual([...users].sort());
    // 16 bytes a GUID, not 36 characters.
    expect(text).not.toContain('0f8fad5b-d9cb');
    // Written again from what was read, the cursor is the same text.
    expect(encodeCursor(back as FeedState)).toBe(text);
  });

  it('round-trips many GUIDs of every digit, across roles, with upper-case and other ids kept as they are', () => {
    const many = new Map<string, string>();
    for (let i = 0; i < 2000; i++) many.set(randomUUID(), `r${i % 3}`);
    many.set('0F8FAD5B-D9CB-469F-A165-70867728950E', 'r1');
    many.set('0123456789abcdef-0123', 'r2');
    const back = decodeCursor(encodeCursor(stateWith(AssignedUsers.of(many))));
    expect(new Map([...(back as FeedState).assignedUsers.map].sort())).toEqual(new Map([...many].sort()));
  });

  it('reads a cursor the version before digests wrote, word for word', () => {
    const written = `{"v":1,"s":"s1","u":"https://graph.example/v1.0/users/delta?$deltatoken=a","g":[],"w":["g1"],"n":{"g1":"acme:platform"},"r":{"r1":"editor"},"au":[{"k":"r1","p":"D4-tW9nLRp-hZXCGdyiVDg","o":["not-a-guid"]},{"k":"r1,r2","p":"fJ5meXQlQN6US-B_wfkK5w","o":[]}],"ag":{"g1":"r1"}}`;
    const state = decodeCursor(written) as FeedState;
    expect(state).toMatchObject({ settings: 's1', listingDigest: '', watched: ['g1'], roles: { r1: 'editor' } });
    expect(new Map([...state.assignedUsers.map].sort())).toEqual(
      new Map([
        ['0f8fad5b-d9cb-469f-a165-70867728950e', 'r1'],
        ['7c9e6679-7425-40de-944b-e07fc1f90ae7', 'r1,r2'],
        ['not-a-guid', 'r1'],
      ]),
    );
  });

  it('reads a version 1 cursor (no listing digest) as one whose digest matches no listing', () => {
    const wire = JSON.parse(encodeCursor(stateWith(AssignedUsers.of(users)))) as Record<string, unknown>;
    expect(wire.v).toBe(CURSOR_VERSION);
    delete wire.d;
    const v1 = decodeCursor(JSON.stringify({ ...wire, v: 1 }));
    expect(v1?.listingDigest).toBe('');
    expect([...(v1 as FeedState).assignedUsers.map].sort()).toEqual([...users].sort());
    // A version 2 cursor without its digest was not written by this code.
    expect(decodeCursor(JSON.stringify(wire))).toBeNull();
  });

  it('refuses packed users that are not whole GUIDs', () => {
    const wire = JSON.parse(encodeCursor(stateWith(AssignedUsers.of(users)))) as { au: Array<{ p: string }> };
    for (const p of ['AAAA', '!!!!!!!!!!!!!!!!!!!!!!']) {
      const bad = structuredClone(wire);
      (bad.au[0] as { p: string }).p = p;
      expect(decodeCursor(JSON.stringify(bad))).toBeNull();
    }
  });

  it('a role set is one key, whatever its order or case; one role is its own key', () => {
    expect(roleKey(new Set(['B', 'a']))).toBe('a,b');
    expect(roleKey(['b', 'A', 'a'])).toBe('a,b');
    expect(roleKey(new Set(['R1']))).toBe('r1');
  });
});

describe('the digest of an assignment listing', () => {
  const digestOf = (pages: Array<Array<[string, string, string]>>) => {
    const d = listingDigest();
    for (const page of pages) {
      for (const [t, p, r] of page) d.add(t, p, r);
      d.page();
    }
    return d.value();
  };
  const a: [string, string, string] = ['User', 'u1', 'r1'];
  const b: [string, string, string] = ['Group', 'g1', 'r2'];

  it('is the same for the same listing, however it was paged', () => {
    expect(digestOf([[a, b]])).toBe(digestOf([[a], [b]]));
  });

  it('differs for any change: an entry, a field, the order, a boundary between fields', () => {
    const base = digestOf([[a, b]]);
    expect(digestOf([[a]])).not.toBe(base);
    expect(digestOf([[a, ['Group', 'g1', 'r1']]])).not.toBe(base);
    expect(digestOf([[b, a]])).not.toBe(base);
    expect(digestOf([[['User', 'u1r', '1'], b]])).not.toBe(base);
  });
});
