import { describe, expect, it } from 'vitest';
import type { IllTypedValue } from '../../src/model/idp.ts';
import {
  groupNameOf,
  isActive,
  isTeamGroupName,
  matchesRule,
  noteOf,
  ruleSearch,
  toIdpUser,
  userNameOf,
  type AppUserWire,
} from '../../src/sources/okta/transform.ts';

/** Okta AppUser/User JSON → IdpUser, one row per rule. */

describe('userName: app profile email first (Docker keys Okta users by email)', () => {
  it.each<[string, AppUserWire, string | null]>([
    ['app profile email', { profile: { email: 'a@x.com', userName: 'alogin' }, credentials: { userName: 'cred' }, _embedded: { user: { profile: { email: 'okta@x.com' } } } }, 'a@x.com'],
    ['else the Okta user email', { profile: { userName: 'alogin' }, credentials: { userName: 'cred' }, _embedded: { user: { profile: { email: 'okta@x.com' } } } }, 'okta@x.com'],
    ['else the app credentials userName', { profile: { userName: 'alogin' }, credentials: { userName: 'cred@x.com' } }, 'cred@x.com'],
    ['else the app profile userName', { profile: { userName: 'alogin@x.com' }, credentials: {} }, 'alogin@x.com'],
    ['empty strings are skipped', { profile: { email: '' }, credentials: { userName: 'cred@x.com' } }, 'cred@x.com'],
    ['null when Okta has none', { profile: { email: null }, credentials: null }, null],
    ['no profile at all', {}, null],
    ['case is kept as Okta holds it', { profile: { email: 'Jane.Doe@X.com' } }, 'Jane.Doe@X.com'],
  ])('%s', (_label, au, expected) => {
    expect(userNameOf(au)).toBe(expected);
  });
});

describe('names: givenName/familyName, else firstName/lastName, else the Okta user', () => {
  it.each<[string, AppUserWire, string | null, string | null]>([
    ['SCIM-style app profile', { profile: { givenName: 'Jane', familyName: 'Doe', firstName: 'J', lastName: 'D' } }, 'Jane', 'Doe'],
    ['SAML-style app profile', { profile: { firstName: 'Jane', lastName: 'Doe' } }, 'Jane', 'Doe'],
    ['from the embedded Okta user', { profile: {}, _embedded: { user: { profile: { firstName: 'Jane', lastName: 'Doe' } } } }, 'Jane', 'Doe'],
    ['mixed sources', { profile: { givenName: 'Jane' }, _embedded: { user: { profile: { firstName: 'X', lastName: 'Doe' } } } }, 'Jane', 'Doe'],
    ['none', { profile: { givenName: null } }, null, null],
  ])('%s', (_label, au, given, family) => {
    const u = toIdpUser({ id: '00u1', ...au }, []);
    expect([u.givenName, u.familyName]).toEqual([given, family]);
  });
});

describe('active', () => {
  it.each<[string, string | undefined, string | undefined, boolean]>([
    ['PROVISIONED, user ACTIVE', 'PROVISIONED', 'ACTIVE', true],
    ['ACTIVE (SSO only)', 'ACTIVE', undefined, true],
    ['STAGED (push pending or failed) still stands', 'STAGED', 'ACTIVE', true],
    ['PENDING', 'PENDING', undefined, true],
    ['INACTIVE', 'INACTIVE', 'ACTIVE', false],
    ['DEPROVISIONED', 'DEPROVISIONED', undefined, false],
    ['REVOKED', 'REVOKED', undefined, false],
    ['SUSPENDED app user', 'SUSPENDED', undefined, false],
    ['UNASSIGNED', 'UNASSIGNED', undefined, false],
    ['Okta user DEPROVISIONED (deactivated)', 'PROVISIONED', 'DEPROVISIONED', false],
    ['Okta user SUSPENDED stays active (suspension is temporary)', 'PROVISIONED', 'SUSPENDED', true],
    ['Okta user LOCKED_OUT stays active', 'PROVISIONED', 'LOCKED_OUT', true],
    ['Okta user PASSWORD_EXPIRED stays active', 'PROVISIONED', 'PASSWORD_EXPIRED', true],
    ['no status at all', undefined, undefined, true],
  ])('%s', (_label, appStatus, userStatus, expected) => {
    expect(isActive(appStatus, userStatus)).toBe(expected);
  });
});

describe('the note for reports', () => {
  it.each<[AppUserWire, string]>([
    [{ status: 'PROVISIONED', scope: 'GROUP' }, 'okta app user PROVISIONED (GROUP)'],
    [{ status: 'ACTIVE', scope: 'USER', _embedded: { user: { status: 'ACTIVE' } } }, 'okta app user ACTIVE (USER)'],
    [{ status: 'INACTIVE', scope: 'USER', _embedded: { user: { status: 'DEPROVISIONED' } } }, 'okta app user INACTIVE (USER), okta user DEPROVISIONED'],
    [{}, 'okta app user UNKNOWN'],
  ])('%j → %s', (au, note) => {
    expect(noteOf(au)).toBe(note);
  });
});

describe('a whole AppUser', () => {
  it('maps the emulator-shaped example from okta.md §1.1', () => {
    const au: AppUserWire = {
      id: '00u1dnq5S0CfjlkpABCD',
      scope: 'GROUP',
      status: 'PROVISIONED',
      credentials: { userName: 'jane@acme.com' },
      profile: { userName: 'jane@acme.com', email: 'jane@acme.com', givenName: 'Jane', familyName: 'Doe', dockerRole: 'member', dockerOrg: 'acme', dockerTeam: ['backend'] },
      _links: { group: { href: 'https://acme.okta.com/api/v1/groups/00g1eng' } },
    };
    expect(toIdpUser(au, ['acme:data', 'acme:backend', 'acme:data'])).toEqual({
      idpId: '00u1dnq5S0CfjlkpABCD',
      userName: 'jane@acme.com',
      givenName: 'Jane',
      familyName: 'Doe',
      active: true,
      dockerRole: ['member'],
      dockerOrg: ['acme'],
      dockerTeam: ['backend'],
      groups: ['acme:backend', 'acme:data'],
      note: 'okta app user PROVISIONED (GROUP)',
      // scope GROUP: held through the group `_links.group` names (explain says which).
      provenance: {
        direct: false,
        viaGroups: ['00g1eng'],
        attributes: { dockerRole: 'profile.dockerRole (Okta app user profile)', dockerOrg: 'profile.dockerOrg (Okta app user profile)', dockerTeam: 'profile.dockerTeam (Okta app user profile)' },
      },
    });
  });

  it.each<[string, Partial<AppUserWire>, { direct: boolean; viaGroups: string[] } | undefined]>([
    ['scope USER is a direct assignment', { scope: 'USER' }, { direct: true, viaGroups: [] }],
    ['scope GROUP without _links.group names no group', { scope: 'GROUP' }, { direct: false, viaGroups: [] }],
    ['no scope: no provenance rather than a guess', {}, undefined],
  ])('provenance: %s', (_name, wire, want) => {
    const u = toIdpUser({ id: '00u1', status: 'PROVISIONED', profile: { email: 'a@acme.com' }, ...wire }, []);
    if (want === undefined) expect(u.provenance).toBeUndefined();
    else expect(u.provenance).toMatchObject(want);
  });
});

describe('groups', () => {
  it.each<[string, boolean]>([
    ['acme:backend', true],
    ['acme:platform:extra', true],
    [':', true],
    ['Docker Users', false],
    ['acme-backend', false],
  ])('%s is an org:team group: %s', (name, expected) => {
    expect(isTeamGroupName(name)).toBe(expected);
  });

  it.each<[string, unknown, string | null]>([
    ['embedded name', { id: '00g1', _embedded: { group: { profile: { name: 'acme:backend' } } } }, 'acme:backend'],
    ['no embedding', { id: '00g1' }, null],
    ['empty name', { id: '00g1', _embedded: { group: { profile: { name: '' } } } }, null],
    // The reader turns null into a read error: a group name decides teams and is never coerced.
    ['a name that is a number', { id: '00g1', _embedded: { group: { profile: { name: 42 } } } }, null],
  ])('%s', (_label, ga, expected) => {
    expect(groupNameOf(ga as Parameters<typeof groupNameOf>[0])).toBe(expected);
  });
});

describe('ill-typed values are reported and hold the user, never coerced or passed over', () => {
  const base: AppUserWire = {
    id: '00u1',
    status: 'PROVISIONED',
    profile: { email: 'jane@x.com', givenName: 'Jane', familyName: 'Doe' },
    _embedded: { user: { status: 'ACTIVE', profile: { email: 'other@x.com', firstName: 'Other', lastName: 'Person' } } },
  };

  it.each<[string, AppUserWire, Partial<ReturnType<typeof toIdpUser>>, string, string]>([
    // A status that is not a string does not mean "active" by default: it is reported, and active
    // stays true only so that the mapping holds the user instead of deactivating them.
    ['AppUser status as a number', { ...base, status: 1 }, { active: true }, 'status', '1'],
    ['AppUser status as an object, beside a valid INACTIVE user status', { ...base, status: { v: 'INACTIVE' }, _embedded: { user: { status: 'DEPROVISIONED' } } }, { active: true }, 'status', '{"v":"INACTIVE"}'],
    ['Okta user status as an object', { ...base, _embedded: { user: { status: { s: 'ACTIVE' } } } }, { active: true }, '_embedded.user.status', '{"s":"ACTIVE"}'],
    ['Okta user status as a number beside an INACTIVE app user', { ...base, status: 'INACTIVE', _embedded: { user: { status: 0 } } }, { active: true }, '_embedded.user.status', '0'],
    // The next candidate could be another person's address: an ill-typed email gives no userName.
    ['app profile email as a number', { ...base, profile: { ...base.profile, email: 42 } }, { userName: null }, 'profile.email', '42'],
    ['Okta user email as an object', { ...base, profile: {}, _embedded: { user: { profile: { email: { primary: 'x@x.com' } } } } }, { userName: null }, '_embedded.user.profile.email', '{"primary":"x@x.com"}'],
    ['app credentials userName as a list', { id: '00u1', credentials: { userName: ['a@x.com'] }, profile: { userName: 'b@x.com' } }, { userName: null }, 'credentials.userName', '["a@x.com"]'],
    ['givenName as a number', { ...base, profile: { ...base.profile, givenName: 7 } }, { givenName: null }, 'profile.givenName', '7'],
    ['firstName as a boolean', { ...base, profile: { email: 'jane@x.com', firstName: true } }, { givenName: null }, 'profile.firstName', 'true'],
    ['Okta user lastName as a number', { ...base, profile: { email: 'jane@x.com' }, _embedded: { user: { profile: { lastName: 3 } } } }, { familyName: null }, '_embedded.user.profile.lastName', '3'],
    ['a profile that is not an object', { ...base, profile: 'jane@x.com' as unknown as Record<string, unknown> }, {}, 'profile', '"jane@x.com"'],
  ])('%s', (_label, au, expected, field, value) => {
    const u = toIdpUser(au, []);
    expect(u).toMatchObject(expected);
    expect(u.illTyped).toContainEqual({ field, value, expected: expect.stringMatching(/^an? /) });
  });

  it('a well-typed record reports nothing', () => {
    expect(toIdpUser(base, []).illTyped).toBeUndefined();
  });

  it('a wrong type in a field not read (a later candidate) is not held against the user', () => {
    const u = toIdpUser({ ...base, credentials: { userName: 5 } }, []);
    expect(u).toMatchObject({ userName: 'jane@x.com' });
    expect(u.illTyped).toBeUndefined();
  });

  it('isActive reports an ill-typed status and answers true', () => {
    const bad: IllTypedValue[] = [];
    expect(isActive(404, 'DEPROVISIONED', bad)).toBe(true);
    expect(bad).toEqual([{ field: 'status', value: '404', expected: 'a string' }]);
  });
});

describe('OKTA_GROUP_RULE as Okta search and as a local check', () => {
  it.each([
    [{ op: 'startsWith', value: 'acme:' }, 'profile.name sw "acme:"'],
    [{ op: 'contains', value: ':' }, 'profile.name co ":"'],
    // The config refuses these; escaped all the same, the value can never end the string.
    [{ op: 'startsWith', value: 'a"b\\c\u0007' }, 'profile.name sw "a\\"b\\\\c"'],
  ] as const)('%o → %s', (rule, search) => {
    expect(ruleSearch(rule)).toBe(search);
  });

  it.each([
    ['startsWith', 'acme:', 'ACME:dev', true],
    ['startsWith', 'acme:', 'acmelabs:x', false],
    ['startsWith', 'acme:', 'team acme:dev', false],
    ['contains', ':', 'acmelabs:x', true],
    ['contains', ':', 'Docker Users', false],
  ] as const)('%s %s matches %s: %s', (op, value, name, expected) => {
    expect(matchesRule(name, { op, value })).toBe(expected);
  });
});
