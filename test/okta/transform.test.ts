import { describe, expect, it } from 'vitest';
import {
  groupNameOf,
  isActive,
  isTeamGroupName,
  noteOf,
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
    });
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
  ])('%s', (_label, ga, expected) => {
    expect(groupNameOf(ga as Parameters<typeof groupNameOf>[0])).toBe(expected);
  });
});
