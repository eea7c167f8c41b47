import { describe, expect, it } from 'vitest';
import type { IllTypedValue } from '../../src/model/idp.ts';
import {
  DEFAULT_ACCESS,
  attributeValues,
  emailOf,
  isFullyRead,
  memberSelect,
  noteOf,
  roleValues,
  toIdpUser,
  userNameOf,
  userSelect,
  type AttributeSources,
  type UserWire,
} from '../../src/sources/entra/transform.ts';

/** Graph user JSON → IdpUser, one row per rule. */

const NONE: AttributeSources = { dockerRole: { kind: 'none' }, dockerOrg: { kind: 'none' }, dockerTeam: { kind: 'none' } };

describe('userName', () => {
  it.each<[string, UserWire, 'userPrincipalName' | 'mail', string | null]>([
    ['the UPN by default', { userPrincipalName: 'jane@acme.com', mail: 'jane.doe@acme.com' }, 'userPrincipalName', 'jane@acme.com'],
    ['a guest UPN falls back to mail', { userPrincipalName: 'jane_partner.com#EXT#@acme.onmicrosoft.com', mail: 'jane@partner.com' }, 'userPrincipalName', 'jane@partner.com'],
    ['#ext# in any case is a guest', { userPrincipalName: 'jane_partner.com#ext#@acme.onmicrosoft.com', mail: 'jane@partner.com' }, 'userPrincipalName', 'jane@partner.com'],
    ['a guest without mail has none', { userPrincipalName: 'jane_partner.com#EXT#@acme.onmicrosoft.com', mail: null }, 'userPrincipalName', null],
    ['mail when asked', { userPrincipalName: 'jane@acme.com', mail: 'jane.doe@acme.com' }, 'mail', 'jane.doe@acme.com'],
    ['no mail when asked for mail: none (the UPN does not stand in)', { userPrincipalName: 'jane@acme.com', mail: null }, 'mail', null],
    ['empty mail counts as none', { userPrincipalName: 'jane@acme.com', mail: '' }, 'mail', null],
    ['case kept as Entra holds it', { userPrincipalName: 'Jane.Doe@Acme.com' }, 'userPrincipalName', 'Jane.Doe@Acme.com'],
    ['an odd value is passed on for the rules to judge', { userPrincipalName: 'not-an-email' }, 'userPrincipalName', 'not-an-email'],
  ])('%s', (_label, u, source, expected) => {
    const r = userNameOf(u, source);
    expect(r.userName).toBe(expected);
    expect(r.why === null).toBe(expected !== null);
  });
});

describe('docker* attributes become lists', () => {
  const user: UserWire = {
    extension_abc_dockerTeam: ['backend', 'data'],
    extension_abc_dockerOrg: 'acme',
    onPremisesExtensionAttributes: { extensionAttribute1: 'owner', extensionAttribute2: null },
  };
  it.each<[string, Parameters<typeof attributeValues>[1], string[]]>([
    ['none', { kind: 'none' }, []],
    ['an app role', { kind: 'appRole' }, ['editor']],
    ['a multi-valued extension', { kind: 'extension', property: 'extension_abc_dockerTeam' }, ['backend', 'data']],
    ['a string extension', { kind: 'extension', property: 'extension_abc_dockerOrg' }, ['acme']],
    ['an extension the user has no value in', { kind: 'extension', property: 'extension_abc_other' }, []],
    ['extensionAttribute1', { kind: 'extensionAttribute', index: 1 }, ['owner']],
    ['an empty extensionAttribute', { kind: 'extensionAttribute', index: 2 }, []],
  ])('from %s', (_label, source, expected) => {
    const illTyped: IllTypedValue[] = [];
    expect(attributeValues(user, source, ['editor'], illTyped)).toEqual(expected);
    expect(illTyped).toEqual([]);
  });
});

describe('app role values', () => {
  const roles = new Map([
    ['11111111-1111-1111-1111-111111111111', 'owner'],
    ['22222222-2222-2222-2222-222222222222', 'editor'],
  ]);
  it.each<[string, string[], string[]]>([
    ['default access contributes nothing', [DEFAULT_ACCESS], []],
    ['one role', ['11111111-1111-1111-1111-111111111111'], ['owner']],
    ['direct and group roles: all kept, for the rules to call ambiguous', ['11111111-1111-1111-1111-111111111111', DEFAULT_ACCESS, '22222222-2222-2222-2222-222222222222'], ['editor', 'owner']],
    ['the same role twice counts once', ['11111111-1111-1111-1111-111111111111', '11111111-1111-1111-1111-111111111111'], ['owner']],
    ['a role the app no longer defines contributes nothing', ['33333333-3333-3333-3333-333333333333'], []],
    ['ids in upper case', ['11111111-1111-1111-1111-111111111111'.toUpperCase()], ['owner']],
  ])('%s', (_label, ids, expected) => {
    expect(roleValues(ids, roles)).toEqual(expected);
  });
});

describe('$select', () => {
  it('names exactly the properties used', () => {
    expect(userSelect(NONE)).toEqual(['id', 'userPrincipalName', 'mail', 'givenName', 'surname', 'accountEnabled']);
    expect(
      userSelect({ dockerRole: { kind: 'appRole' }, dockerOrg: { kind: 'extensionAttribute', index: 2 }, dockerTeam: { kind: 'extension', property: 'extension_abc_dockerTeam' } }),
    ).toEqual(['id', 'userPrincipalName', 'mail', 'givenName', 'surname', 'accountEnabled', 'onPremisesExtensionAttributes', 'extension_abc_dockerTeam']);
    expect(userSelect({ dockerRole: { kind: 'extensionAttribute', index: 1 }, dockerOrg: { kind: 'extensionAttribute', index: 2 }, dockerTeam: { kind: 'none' } }).filter((p) => p === 'onPremisesExtensionAttributes')).toHaveLength(1);
    expect(memberSelect(NONE).at(-1)).toBe('displayName');
  });
});

describe('a user is fully read only with a UPN and accountEnabled (limited member objects are not)', () => {
  it.each<[string, UserWire, boolean]>([
    ['a whole user', { id: '1', userPrincipalName: 'a@b.c', accountEnabled: false }, true],
    ['a limited member: id and nulls', { id: '1', '@odata.type': '#microsoft.graph.user', userPrincipalName: null, accountEnabled: null }, false],
    ['accountEnabled not selected', { id: '1', userPrincipalName: 'a@b.c' }, false],
  ])('%s', (_label, u, expected) => {
    expect(isFullyRead(u)).toBe(expected);
  });
});

describe('a whole user', () => {
  it('maps the example of entra-graph.md §1.2', () => {
    const u: UserWire = {
      id: '6338…',
      accountEnabled: true,
      userPrincipalName: 'jane@acme.com',
      mail: 'jane@acme.com',
      givenName: 'Jane',
      surname: 'Doe',
      onPremisesExtensionAttributes: { extensionAttribute1: 'owner' },
      extension_b7d8_dockerTeam: ['backend'],
    };
    const { user, note } = toIdpUser(u, {
      userNameSource: 'userPrincipalName',
      attributes: { dockerRole: { kind: 'extensionAttribute', index: 1 }, dockerOrg: { kind: 'appRole' }, dockerTeam: { kind: 'extension', property: 'extension_b7d8_dockerTeam' } },
      appRoleValues: ['acme'],
      groups: ['acme:data', 'Docker Users', 'acme:data'],
      direct: false,
      viaGroups: ['g-users', 'g-data'],
    });
    expect(note).toBeNull();
    expect(user).toEqual({
      idpId: '6338…',
      userName: 'jane@acme.com',
      givenName: 'Jane',
      familyName: 'Doe',
      active: true,
      dockerRole: ['owner'],
      dockerOrg: ['acme'],
      dockerTeam: ['backend'],
      groups: ['Docker Users', 'acme:data'],
      note: 'entra: assigned through Docker Users, acme:data',
      // Where each value came from, for explain: group ids sorted, whatever order they were met in.
      provenance: {
        direct: false,
        viaGroups: ['g-data', 'g-users'],
        attributes: {
          dockerRole: 'onPremisesExtensionAttributes.extensionAttribute1 (Entra user)',
          dockerOrg: "the app role of the user's assignments to the Docker app (Entra app role value)",
          dockerTeam: 'the directory extension extension_b7d8_dockerTeam (Entra user)',
        },
        active: 'accountEnabled is true (Entra user)',
      },
    });
  });

  it('a disabled guest without mail: inactive, no userName, a note for the report', () => {
    const { user, note } = toIdpUser(
      { id: 'g1', accountEnabled: false, userPrincipalName: 'x_y.com#EXT#@t.onmicrosoft.com', mail: null, givenName: null, surname: null },
      { userNameSource: 'userPrincipalName', attributes: NONE, appRoleValues: [], groups: [], direct: true },
    );
    expect(user).toMatchObject({ userName: null, active: false, givenName: null, familyName: null, note: 'entra: assigned directly; guest; account disabled; no usable email' });
    expect(note).toEqual({ code: 'ENTRA_USER_WITHOUT_EMAIL', subject: 'x_y.com#EXT#@t.onmicrosoft.com', message: expect.stringContaining('give it a mail address in Entra') });
  });

  it.each<[boolean, string[], string]>([
    [true, [], 'entra: assigned directly'],
    [true, ['a:b'], 'entra: assigned directly and through a:b'],
    [false, ['a:b', 'c'], 'entra: assigned through a:b, c'],
  ])('note: direct %s, groups %j', (direct, groups, expected) => {
    expect(noteOf(direct, groups, { accountEnabled: true, userPrincipalName: 'a@b.c' }, null)).toBe(expected);
  });
});

describe("mail → Docker's emails (Docker's Entra mapping: mail → emails[type eq \"work\"].value)", () => {
  it.each<[string, UserWire, string | null, string | null, string | null]>([
    ['a mail unlike the UPN is the address', { userPrincipalName: 'jane@acme.com', mail: 'jane.doe@acme.com' }, 'jane@acme.com', 'jane.doe@acme.com', null],
    ['a mail equal to the UPN in another case is none of its own', { userPrincipalName: 'jane@acme.com', mail: 'JANE@acme.com' }, 'jane@acme.com', null, null],
    ['no mail: none', { userPrincipalName: 'jane@acme.com', mail: null }, 'jane@acme.com', null, null],
    ['no userName: none', { userPrincipalName: 'x#EXT#@t.onmicrosoft.com', mail: null }, null, null, null],
    ['an invalid mail: none, and why', { userPrincipalName: 'jane@acme.com', mail: 'jane doe@acme' }, 'jane@acme.com', null, 'jane doe@acme'],
  ])('%s', (_label, u, userName, email, invalid) => {
    expect(emailOf(u, userName)).toEqual({ email, invalid });
  });

  const ctx = { userNameSource: 'userPrincipalName' as const, attributes: NONE, appRoleValues: [], groups: [], direct: true };

  it('the user carries it; one without a mail of its own carries nothing', () => {
    expect(toIdpUser({ id: 'u1', accountEnabled: true, userPrincipalName: 'jane@acme.com', mail: 'jane.doe@acme.com' }, ctx).user.email).toBe('jane.doe@acme.com');
    expect('email' in toIdpUser({ id: 'u1', accountEnabled: true, userPrincipalName: 'jane@acme.com', mail: 'jane@acme.com' }, ctx).user).toBe(false);
  });

  it('an invalid mail holds nobody: no address, a note for the report', () => {
    const { user, note } = toIdpUser({ id: 'u1', accountEnabled: true, userPrincipalName: 'jane@acme.com', mail: 'jane at acme' }, ctx);
    expect(user).toMatchObject({ userName: 'jane@acme.com', active: true });
    expect('email' in user).toBe(false);
    expect(note).toEqual({ code: 'ENTRA_INVALID_MAIL', subject: 'jane@acme.com', message: expect.stringContaining('"jane at acme", which is not a valid email address') });
  });
});

describe('values of the wrong type are reported, never coerced (the mapping holds the user)', () => {
  const ctx = { userNameSource: 'userPrincipalName' as const, attributes: NONE, appRoleValues: [], groups: [], direct: true };
  const base: UserWire = { id: 'u1', accountEnabled: true, userPrincipalName: 'jane@acme.com', mail: 'jane@acme.com', givenName: 'Jane', surname: 'Doe' };
  it.each<[string, UserWire, 'userPrincipalName' | 'mail', Partial<ReturnType<typeof toIdpUser>['user']>, IllTypedValue[]]>([
    ['accountEnabled "true" is not true: active, so held, not deactivated', { ...base, accountEnabled: 'true' }, 'userPrincipalName', { active: true }, [{ field: 'accountEnabled', value: '"true"', expected: 'a boolean' }]],
    ['accountEnabled 1', { ...base, accountEnabled: 1 }, 'userPrincipalName', { active: true }, [{ field: 'accountEnabled', value: '1', expected: 'a boolean' }]],
    ['accountEnabled "false" is not false either', { ...base, accountEnabled: 'false' }, 'userPrincipalName', { active: true }, [{ field: 'accountEnabled', value: '"false"', expected: 'a boolean' }]],
    ['accountEnabled missing (it is always selected)', { ...base, accountEnabled: null }, 'userPrincipalName', { active: true }, [{ field: 'accountEnabled', value: 'null', expected: 'a boolean' }]],
    ['a numeric UPN: no userName, and mail does not stand in', { ...base, userPrincipalName: 42 }, 'userPrincipalName', { userName: null }, [{ field: 'userPrincipalName', value: '42', expected: 'a string' }]],
    ['a guest whose mail is a list: no userName, and the UPN does not stand in', { ...base, userPrincipalName: 'j_p.com#EXT#@t.onmicrosoft.com', mail: ['j@p.com'] }, 'userPrincipalName', { userName: null }, [{ field: 'mail', value: '["j@p.com"]', expected: 'a string' }]],
    ['mail as the source, sent as an object', { ...base, mail: { address: 'j@acme.com' } }, 'mail', { userName: null }, [{ field: 'mail', value: '{"address":"j@acme.com"}', expected: 'a string' }]],
    ['a UPN that is fine with a mail that is not: the UPN is used, the mail still reported', { ...base, mail: 7 }, 'userPrincipalName', { userName: 'jane@acme.com' }, [{ field: 'mail', value: '7', expected: 'a string' }]],
    ['givenName and surname of other types', { ...base, givenName: 7, surname: ['Doe'] }, 'userPrincipalName', { givenName: null, familyName: null }, [
      { field: 'givenName', value: '7', expected: 'a string' },
      { field: 'surname', value: '["Doe"]', expected: 'a string' },
    ]],
  ])('%s', (_label, u, source, expected, illTyped) => {
    const { user, note } = toIdpUser(u, { ...ctx, userNameSource: source });
    expect(user).toMatchObject(expected);
    expect(user.illTyped).toEqual(illTyped);
    // The ill-typed value is what the report names; no "give it a mail address" note on top.
    expect(note).toBeNull();
  });

  it('a well-typed user carries no illTyped at all', () => {
    expect(toIdpUser(base, ctx).user.illTyped).toBeUndefined();
    expect(toIdpUser({ ...base, accountEnabled: false, mail: null, givenName: null }, ctx).user).toMatchObject({ active: false, givenName: null });
  });

  it.each<[string, UserWire, boolean]>([
    ['accountEnabled "true" was read (and is judged, not read again)', { id: '1', userPrincipalName: 'a@b.c', accountEnabled: 'true' }, true],
    ['a numeric UPN was read', { id: '1', userPrincipalName: 42, accountEnabled: true }, true],
    ['an empty UPN was not', { id: '1', userPrincipalName: '', accountEnabled: true }, false],
  ])('fully read: %s', (_label, u, expected) => {
    expect(isFullyRead(u)).toBe(expected);
  });
});
