import { describe, expect, it } from 'vitest';
import { WireError, readGroup, readList, readUser, userBody } from '../../src/docker/wire.ts';

/**
 * Docker's records are read without coercion: a value of the wrong type is an error that names the
 * record, the field and the value (cut short), never a guess. Absent and null keep their defaults.
 */

const EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
const user = (over: Record<string, unknown> = {}) => ({ id: 'u-1', userName: 'ada@example.com', active: true, ...over });
const group = (over: Record<string, unknown> = {}) => ({ id: 'g-1', displayName: 'acme:everyone', members: [{ value: 'u-1' }], ...over });

function wireError(read: () => unknown): string {
  try {
    read();
  } catch (err) {
    expect(err).toBeInstanceOf(WireError);
    return (err as Error).message;
  }
  throw new Error('expected a WireError');
}

describe('a user record with an ill-typed value is an error, never coerced', () => {
  it.each([
    ['active as the string "false"', user({ active: 'false' }), 'user "u-1": "active" is "false" (a string), expected true or false'],
    ['active as 0', user({ active: 0 }), 'user "u-1": "active" is 0 (a number), expected true or false'],
    ['enabled as "true" with no active', user({ active: undefined, enabled: 'true' }), 'user "u-1": "enabled" is "true" (a string)'],
    ['userName as a number', user({ userName: 42 }), 'user "u-1": "userName" is 42 (a number), expected a string'],
    ['id as a number', user({ id: 7 }), 'a user: "id" is 7 (a number), expected a string'],
    ['name as a string', user({ name: 'Ada Lovelace' }), 'user "u-1": "name" is "Ada Lovelace" (a string), expected an object'],
    ['givenName as a list', user({ name: { givenName: ['Ada'] } }), 'user "u-1": "name.givenName" is ["Ada"] (a list), expected a string'],
    ['displayName as a number', user({ displayName: 12 }), 'user "u-1": "displayName" is 12 (a number)'],
    ['emails as an object', user({ emails: { value: 'ada@example.com' } }), 'user "u-1": "emails" is {"value":"ada@example.com"} (an object), expected a list'],
    ['groups as a string', user({ groups: 'everyone' }), 'user "u-1": "groups" is "everyone" (a string), expected a list'],
    ['the extension as a string', user({ [EXT]: 'editor' }), `user "u-1": "${EXT}" is "editor" (a string), expected an object`],
    ['dockerRole as a number', user({ [EXT]: { dockerRole: 1, dockerOrg: 'acme' } }), `"${EXT}.dockerRole" is 1 (a number), expected a string`],
    ['dockerOrg as a boolean', user({ [EXT]: { dockerRole: 'member', dockerOrg: true } }), `"${EXT}.dockerOrg" is true (a boolean), expected a string`],
    ['dockerTeam as an object', user({ [EXT]: { dockerRole: 'member', dockerOrg: 'acme', dockerTeam: { name: 'web' } } }), `"${EXT}.dockerTeam" is {"name":"web"} (an object)`],
  ])('%s', (_what, record, message) => {
    expect(wireError(() => readUser(record))).toContain(message);
  });

  it('a long value is cut short in the message', () => {
    const message = wireError(() => readUser(user({ active: 'x'.repeat(500) })));
    expect(message.length).toBeLessThan(200);
    expect(message).toContain('…');
  });

  it('keys are matched case-insensitively for the check too', () => {
    expect(wireError(() => readUser({ ID: 'u-1', USERNAME: 'ada@example.com', Active: 'yes' }))).toContain('"active" is "yes"');
  });
});

describe('absent and null keep their documented meaning', () => {
  it('active absent, or null, reads as active (Docker always sends it; a guess must not reactivate)', () => {
    expect(readUser({ id: 'u-1', userName: 'ada@example.com' }).active).toBe(true);
    expect(readUser(user({ active: null })).active).toBe(true);
  });

  it('enabled stands in for a missing active', () => {
    expect(readUser({ id: 'u-1', userName: 'ada@example.com', enabled: false }).active).toBe(false);
  });

  it('null name parts, extension values and lists are unknown or empty, not errors', () => {
    const u = readUser(user({ name: null, emails: null, groups: null, displayName: null, [EXT]: { dockerRole: null, dockerOrg: 'acme', dockerTeam: null } }));
    expect(u).toMatchObject({ givenName: null, familyName: null, displayName: null, role: null, org: 'acme', team: null });
  });

  it('a well-typed record reads as before', () => {
    const u = readUser(user({ name: { givenName: 'Ada', familyName: 'Lovelace' }, displayName: 'ada1', emails: [{ value: 'ada@example.com' }], groups: [], [EXT]: { dockerRole: 'editor', dockerOrg: 'acme', dockerTeam: 'web' } }));
    expect(u).toEqual({ id: 'u-1', userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', active: true, displayName: 'ada1', email: 'ada@example.com', role: 'editor', org: 'acme', team: 'web' });
  });

});

describe('groups and lists', () => {
  it.each([
    ['members as an object', group({ members: { value: 'u-1' } }), 'group "g-1": "members" is {"value":"u-1"} (an object), expected a list'],
    ['a member as a bare string', group({ members: ['u-1'] }), 'group "g-1": "members[]" is "u-1" (a string)'],
    ['a member value as a number', group({ members: [{ value: 5 }] }), 'group "g-1": "members[].value" is 5 (a number)'],
    ['displayName as a number', group({ displayName: 3 }), 'group "g-1": "displayName" is 3 (a number)'],
    ['id as an object', group({ id: { v: 1 } }), 'a group: "id" is {"v":1} (an object)'],
  ])('%s', (_what, record, message) => {
    expect(wireError(() => readGroup(record))).toContain(message);
  });

  it('members absent or null means "not included", to be fetched', () => {
    expect(readGroup(group({ members: undefined })).hasMembers).toBe(false);
    expect(readGroup(group({ members: null })).hasMembers).toBe(false);
  });

  it.each([
    ['resources as an object', { totalResults: 1, resources: { id: 'u-1' } }, '"resources" is {"id":"u-1"} (an object), expected a list'],
    ['totalResults as a string', { totalResults: '5', resources: [] }, '"totalResults" is "5" (a string), expected a whole number'],
    ['totalResults negative', { totalResults: -1, resources: [] }, '"totalResults" is -1 (a number)'],
  ])('a list response with %s is an error', (_what, body, message) => {
    expect(wireError(() => readList(body))).toContain(message);
  });

  it('a list response without totalResults is read, with no total', () => {
    expect(readList({ resources: [] })).toEqual({ resources: [], totalResults: null });
    expect(readList({ totalResults: null, Resources: [1] })).toEqual({ resources: [1], totalResults: null });
  });
});

describe('emails: the address Docker holds (Entra: mail → emails[type eq "work"].value)', () => {
  const attrs = { userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', active: true, role: 'member', org: 'acme', team: null } as const;

  it("carries the user's own address where there is one, else the userName", () => {
    expect(userBody({ ...attrs, email: 'ada.lovelace@mail.example.com' }).emails).toEqual([{ value: 'ada.lovelace@mail.example.com', primary: true }]);
    expect(userBody(attrs).emails).toEqual([{ value: 'ada@example.com', primary: true }]);
  });

  it.each([
    ['the primary one among several', [{ value: 'home@example.com' }, { value: 'work@example.com', primary: true }], 'work@example.com'],
    ['the only one, primary or not', [{ value: 'work@example.com' }], 'work@example.com'],
    ['keys in any case', [{ VALUE: 'work@example.com', Primary: true }], 'work@example.com'],
  ])('reads %s', (_what, emails, want) => {
    expect(readUser(user({ emails })).email).toBe(want);
  });

  it.each([
    ['absent', undefined],
    ['empty', []],
    ['several, none primary', [{ value: 'a@example.com' }, { value: 'b@example.com' }]],
  ])('an address list %s is unknown, not "no address" (the planner goes by what it applied)', (_what, emails) => {
    expect(readUser(user({ emails })).email).toBeUndefined();
    expect('email' in readUser(user({ emails }))).toBe(false);
  });

  it('an ill-typed address is an error, never coerced', () => {
    expect(wireError(() => readUser(user({ emails: ['ada@example.com'] })))).toContain('"emails[]" is "ada@example.com" (a string)');
    expect(wireError(() => readUser(user({ emails: [{ value: 7, primary: true }] })))).toContain('"emails[].value" is 7 (a number)');
  });
});
