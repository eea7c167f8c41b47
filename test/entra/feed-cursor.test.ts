import { describe, expect, it } from 'vitest';
import { decodeCursor, encodeCursor, roleKey, type FeedState } from '../../src/sources/entra/feed-cursor.ts';

describe('the Entra feed cursor', () => {
  it('round-trips every field, GUIDs packed and other ids kept as they are', () => {
    const state: FeedState = {
      settings: 's1',
      users: 'https://graph.example/v1.0/users/delta?$deltatoken=a',
      groups: ['https://graph.example/v1.0/groups/delta?$deltatoken=b'],
      watched: ['g1'],
      names: { g1: 'acme:platform' },
      roles: { r1: 'editor' },
      assignedUsers: new Map([
        ['0f8fad5b-d9cb-469f-a165-70867728950e', 'r1'],
        ['7c9e6679-7425-40de-944b-e07fc1f90ae7', ''],
        ['ffffffff-ffff-4fff-bfff-ffffffffffff', 'r1'],
        ['not-a-guid', 'r1'],
      ]),
      assignedGroups: new Map([['g1', 'r1']]),
    };
    const text = encodeCursor(state);
    expect(decodeCursor(text)).toEqual(state);
    // 16 bytes a GUID, not 36 characters.
    expect(text).not.toContain('0f8fad5b-d9cb');
  });

  it('a role set is one key, whatever its order or case; one role is its own key', () => {
    expect(roleKey(new Set(['B', 'a']))).toBe('a,b');
    expect(roleKey(['b', 'A', 'a'])).toBe('a,b');
    expect(roleKey(new Set(['R1']))).toBe('r1');
  });
});
