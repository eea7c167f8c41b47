import { describe, expect, it } from 'vitest';
import { mapSnapshot } from '../../src/mapping/map.ts';
import { idpUser, snapshot } from '../support/builders.ts';

const defaults = { defaultOrg: 'acme', defaultTeam: 'everyone' };

describe('mapping a snapshot', () => {
  it('adds org:team groups to the attribute teams', () => {
    const s = snapshot([idpUser({ idpId: 'u1', dockerTeam: ['web'], groups: ['acme:api', 'acmelabs:ml', 'Docker Users'] })], ['acme:api', 'acmelabs:ml', 'Docker Users']);
    const d = mapSnapshot(s, defaults);
    expect(d.users[0]?.teams).toEqual(['acme:api', 'acme:web', 'acmelabs:ml']);
    expect(d.findings).toEqual([]);
  });

  it('reports a malformed group once, syncs its members without it', () => {
    const s = snapshot(
      [idpUser({ idpId: 'u1', groups: ['a:b:c'] }), idpUser({ idpId: 'u2', groups: ['a:b:c'] })],
      ['a:b:c'],
    );
    const d = mapSnapshot(s, defaults);
    expect(d.users.map((u) => u.idpId)).toEqual(['u1', 'u2']);
    expect(d.users[0]?.teams).toEqual(['acme:everyone']);
    expect(d.findings.map((f) => f.code)).toEqual(['MALFORMED_GROUP']);
    expect(d.findings[0]?.message).toContain('2 members');
  });

  it.each([
    { rule: 'no email', user: { userName: null }, code: 'MISSING_EMAIL' },
    { rule: 'invalid email', user: { userName: 'not-an-email' }, code: 'INVALID_EMAIL' },
    { rule: 'a quote that would break a SCIM filter', user: { userName: 'o"hara@example.com' }, code: 'INVALID_EMAIL' },
    { rule: 'a backslash that would break a SCIM filter', user: { userName: 'back\\slash@example.com' }, code: 'INVALID_EMAIL' },
    { rule: 'a non-ASCII (IDN) address', user: { userName: 'zoë@exämple.com' }, code: 'INVALID_EMAIL' },
    { rule: 'an oversized email', user: { userName: `${'a'.repeat(250)}@example.com` }, code: 'VALUE_TOO_LONG' },
    { rule: 'an oversized name', user: { givenName: 'x'.repeat(256) }, code: 'VALUE_TOO_LONG' },
    { rule: 'a name with a line break', user: { familyName: 'Doe\nInjected' }, code: 'INVALID_NAME' },
    { rule: 'an unknown role', user: { dockerRole: ['admin'] }, code: 'UNKNOWN_ROLE' },
    { rule: 'an ill-typed value (dockerOrg sent as a number)', user: { illTyped: [{ field: 'profile.dockerOrg', value: '42', expected: 'a string or a list of strings' }] }, code: 'ILL_TYPED_VALUE' },
  ])('$rule becomes a $code finding and the user is held; the others proceed', ({ user, code }) => {
    const s = snapshot([idpUser({ idpId: 'bad', ...user }), idpUser({ idpId: 'good' })]);
    const d = mapSnapshot(s, defaults);
    expect(d.users.map((u) => u.idpId)).toEqual(['good']);
    expect(d.held).toEqual(['bad']);
    expect(d.findings.map((f) => f.code)).toContain(code);
    expect(d.findings.every((f) => f.idpId === 'bad')).toBe(true);
  });

  it('an ill-typed value is named in the finding, and a leaver with one is still deactivated', () => {
    const illTyped = [{ field: 'accountEnabled', value: '"true"', expected: 'a boolean' }];
    const d = mapSnapshot(snapshot([idpUser({ idpId: 'odd', illTyped }), idpUser({ idpId: 'gone', active: false, illTyped })]), defaults);
    expect(d.held).toEqual(['odd']);
    expect(d.deprovisioned).toEqual(['gone']);
    expect(d.findings.find((f) => f.idpId === 'odd')?.message).toContain('accountEnabled is "true", but it must be a boolean');
  });

  it('an inactive user with a bad record is deprovisioned, not held: nothing about the record matters for a leaver', () => {
    const d = mapSnapshot(snapshot([idpUser({ idpId: 'leaver', active: false, dockerRole: ['admin'] })]), defaults);
    expect(d.users).toEqual([]);
    expect(d.held).toEqual([]);
    expect(d.deprovisioned).toEqual(['leaver']);
    expect(d.findings).toEqual([]);
  });

  it('an inactive user with the same userName as an active one is no duplicate (a leaver and their rehire)', () => {
    const d = mapSnapshot(snapshot([idpUser({ idpId: 'old', userName: 'Jane@example.com', active: false }), idpUser({ idpId: 'new', userName: 'jane@example.com' })]), defaults);
    expect(d.users.map((u) => `${u.idpId}:${u.active}`).sort()).toEqual(['new:true', 'old:false']);
    expect(d.findings).toEqual([]);
  });

  it('keeps long but valid non-ASCII names as they are', () => {
    const s = snapshot([idpUser({ idpId: 'u1', givenName: 'Zoë', familyName: 'Ångström-Łukasiewicz 李' + 'x'.repeat(200) })]);
    const d = mapSnapshot(s, defaults);
    expect(d.findings).toEqual([]);
    expect(d.users[0]?.familyName).toBe('Ångström-Łukasiewicz 李' + 'x'.repeat(200));
  });

  it('holds every user of a userName that differs only in case', () => {
    const s = snapshot([idpUser({ idpId: 'a', userName: 'Jane@Example.com' }), idpUser({ idpId: 'b', userName: 'jane@example.com' }), idpUser({ idpId: 'c' })]);
    const d = mapSnapshot(s, defaults);
    expect(d.users.map((u) => u.idpId)).toEqual(['c']);
    expect(d.held).toEqual(['a', 'b']);
    expect(d.findings.filter((f) => f.code === 'DUPLICATE_USERNAME').map((f) => f.idpId).sort()).toEqual(['a', 'b']);
  });

  it('is deterministic: the same snapshot in another order maps to the same value', () => {
    const users = [idpUser({ idpId: 'z', userName: 'zed@example.com' }), idpUser({ idpId: 'a', userName: 'amy@example.com' }), idpUser({ idpId: 'm', userName: 'bad' })];
    expect(mapSnapshot(snapshot(users), defaults)).toEqual(mapSnapshot(snapshot([...users].reverse()), defaults));
  });

  it('an inactive IdP user maps to an inactive desired user', () => {
    const d = mapSnapshot(snapshot([idpUser({ idpId: 'u1', active: false })]), defaults);
    expect(d.users[0]?.active).toBe(false);
  });
});
