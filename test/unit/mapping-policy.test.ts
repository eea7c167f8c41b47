import { describe, expect, it } from 'vitest';
import { mapSnapshot } from '../../src/mapping/map.ts';
import { isVerifiedDomain, type MappingPolicy } from '../../src/mapping/policy.ts';
import type { DesiredState } from '../../src/model/desired.ts';
import type { DockerGroup, DockerUser } from '../../src/model/docker.ts';
import type { IdpUser } from '../../src/model/idp.ts';
import type { Link } from '../../src/model/link.ts';
import type { Plan } from '../../src/model/plan.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { desired, dockerUser, group, idpUser, link, snapshot, synced } from '../support/builders.ts';

/**
 * What Docker's SSO connection covers (DOCKER_VERIFIED_DOMAINS, DOCKER_ORGS) and the IdP's quirks
 * (several roles, a mail of its own), as the mapping applies them: a user outside the connection is
 * a finding before any write, never a Docker error after it.
 */

const base: MappingPolicy = { defaultOrg: 'acme', defaultTeam: 'everyone' };
const map = (users: IdpUser[], policy: Partial<MappingPolicy> = {}, groups: string[] = []) => mapSnapshot(snapshot(users, groups), { ...base, ...policy });
const codes = (d: { findings: readonly { code: string }[] }) => d.findings.map((f) => f.code);

function plan(d: DesiredState, links: Link[] = [], docker: DockerUser[] = [], groups: DockerGroup[] = []): Plan {
  return buildPlan({
    source: 'entra',
    idpUsers: d.users.length + d.held.length + d.deprovisioned.length,
    desired: d,
    links,
    observed: { users: docker, groups },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false },
  });
}
const kinds = (p: Plan) => p.operations.map((o) => `${o.kind} ${'userName' in o ? o.userName : o.group}`);

describe('verified domains (DOCKER_VERIFIED_DOMAINS)', () => {
  it.each([
    ['a@acme.com', ['acme.com'], true],
    ['a@ACME.com', ['acme.com'], true],
    // An ends-with test would let these through.
    ['a@notacme.com', ['acme.com'], false],
    ['a@eu.acme.com', ['acme.com'], false],
    ['a@eu.acme.com', ['*.acme.com'], true],
    ['a@x.eu.acme.com', ['*.acme.com'], true],
    ['a@acme.com', ['*.acme.com'], false],
    ['a@evil-acme.com', ['*.acme.com'], false],
    ['a@acme.com.evil.org', ['acme.com', '*.acme.com'], false],
    ['a@anything.org', null, true],
  ] as const)('%s under %j: %s', (address, domains, want) => {
    expect(isVerifiedDomain(address, domains)).toBe(want);
  });

  it('an active user of an unverified domain is held with an error finding: never written, never deactivated', () => {
    const d = map([idpUser({ idpId: 'eve', userName: 'eve@notacme.com' }), idpUser({ idpId: 'ada', userName: 'ada@acme.com' })], { verifiedDomains: ['acme.com'] });
    expect(d.users.map((u) => u.idpId)).toEqual(['ada']);
    expect(d.held).toEqual(['eve']);
    expect(d.findings).toMatchObject([{ code: 'UNVERIFIED_DOMAIN', severity: 'error', subject: 'eve@notacme.com', idpId: 'eve' }]);
    // Linked before the domain list was set: still not touched.
    const eve = desired({ idpId: 'eve', userName: 'eve@notacme.com', givenName: 'Old' });
    const p = plan(d, [link(eve, 'd-eve')], [synced(eve, 'd-eve')]);
    expect(kinds(p)).toEqual(['create ada@acme.com']);
  });

  it('*.acme.com covers eu.acme.com but not acme.com itself', () => {
    const d = map([idpUser({ idpId: 'eu', userName: 'eu@eu.acme.com' }), idpUser({ idpId: 'hq', userName: 'hq@acme.com' })], { verifiedDomains: ['*.acme.com'] });
    expect(d.users.map((u) => u.idpId)).toEqual(['eu']);
    expect(d.held).toEqual(['hq']);
  });

  it('unset: no check at all', () => {
    const d = map([idpUser({ idpId: 'x', userName: 'x@anywhere.example' })], { verifiedDomains: null });
    expect(d.held).toEqual([]);
    expect(d.findings).toEqual([]);
    expect(d.connection).toBeUndefined();
  });

  it('an inactive user of an unverified domain is deactivated like any leaver', () => {
    const d = map([idpUser({ idpId: 'gone', userName: 'gone@other.org', active: false })], { verifiedDomains: ['acme.com'] });
    expect(d.held).toEqual([]);
    expect(codes(d)).toEqual([]);
    // Mapped like any leaver, not set aside as a broken record: the planner's leaver rules apply whole.
    expect(d.users.map((u) => [u.idpId, u.active])).toEqual([['gone', false]]);
    const gone = desired({ idpId: 'gone', userName: 'gone@other.org' });
    expect(kinds(plan(d, [link(gone, 'd-gone')], [synced(gone, 'd-gone')]))).toEqual(['deactivate gone@other.org']);
  });

  it('an unmanaged Docker account of an unverified domain is one SCIM cannot manage, and the finding says so', () => {
    const d = map([], { verifiedDomains: ['acme.com'] });
    const p = plan(d, [], [dockerUser({ id: 'd1', userName: 'jit@other.org' }), dockerUser({ id: 'd2', userName: 'hand@acme.com' })]);
    const byName = new Map(p.findings.map((f) => [f.subject, f]));
    expect(byName.get('jit@other.org')).toMatchObject({ code: 'UNMANAGED_ACCOUNT', message: expect.stringContaining('SCIM cannot manage it') });
    expect(byName.get('hand@acme.com')?.message).not.toContain('SCIM cannot manage it');
    expect(byName.get('hand@acme.com')?.message).toContain('no user assigned');
  });
});

describe('organizations in scope (DOCKER_ORGS)', () => {
  const orgs = ['acme', 'acmelabs'];

  it('a user whose dockerOrg the connection does not cover is held, with an error finding', () => {
    const d = map([idpUser({ idpId: 'far', dockerOrg: ['faraway'] }), idpUser({ idpId: 'near', dockerOrg: ['acmelabs'] })], { orgs });
    expect(d.held).toEqual(['far']);
    expect(d.users.map((u) => [u.idpId, u.org])).toEqual([['near', 'acmelabs']]);
    expect(d.findings).toMatchObject([{ code: 'ORG_OUT_OF_SCOPE', severity: 'error', idpId: 'far', message: expect.stringContaining('faraway') }]);
  });

  it('an org:team group of another org: one group finding with its member count, the team dropped, its members synced', () => {
    const users = [idpUser({ idpId: 'u1', groups: ['faraway:web', 'acme:web'] }), idpUser({ idpId: 'u2', groups: ['faraway:web'] })];
    const d = map(users, { orgs }, ['faraway:web', 'acme:web']);
    expect(d.held).toEqual([]);
    expect(d.users.map((u) => [u.idpId, u.teams])).toEqual([
      ['u1', ['acme:everyone', 'acme:web']],
      ['u2', ['acme:everyone']],
    ]);
    expect(d.findings).toMatchObject([{ code: 'ORG_OUT_OF_SCOPE', severity: 'warning', subject: 'faraway:web', message: expect.stringContaining('2 members') }]);
    expect(d.findings).toHaveLength(1);
  });

  it('a team applied before, in an org the connection no longer covers, is never removed; one it covers is', () => {
    const d = map([idpUser({ idpId: 'u1' })], { orgs });
    const u1 = d.users[0] as NonNullable<(typeof d.users)[0]>;
    const before = link(u1, 'd1', { applied: { ...link(u1, 'd1').applied, teams: ['acme:everyone', 'acme:old', 'faraway:web'] } });
    const groups = [group('acme:everyone', ['d1']), group('acme:old', ['d1']), group('faraway:web', ['d1'])];
    const p = plan(d, [before], [synced(u1, 'd1')], groups);
    expect(kinds(p)).toEqual(['team-remove acme:old']);
    // Without DOCKER_ORGS the same link's faraway team is managed, and removed.
    const all = map([idpUser({ idpId: 'u1' })]);
    expect(kinds(plan(all, [before], [synced(u1, 'd1')], groups))).toEqual(['team-remove acme:old', 'team-remove faraway:web']);
  });
});

describe('several Entra app roles (ENTRA_ROLE_CONFLICT)', () => {
  it('highest: the user is synced with the highest role and an info finding naming the roles', () => {
    const d = map([idpUser({ idpId: 'pat', dockerRole: ['member', 'owner'] })], { roleConflict: 'highest' });
    expect(d.users.map((u) => u.role)).toEqual(['owner']);
    expect(d.findings).toMatchObject([{ code: 'ROLE_CONFLICT_RESOLVED', severity: 'info', idpId: 'pat', message: expect.stringContaining('member, owner') }]);
  });

  it('hold (the default): held, as before', () => {
    const d = map([idpUser({ idpId: 'pat', dockerRole: ['member', 'owner'] })]);
    expect(d.held).toEqual(['pat']);
    expect(codes(d)).toEqual(['AMBIGUOUS_ATTRIBUTE']);
  });
});

describe("the address Docker's emails holds (Entra's mail)", () => {
  it('carried when it differs from the userName; absent when it is the userName in another case', () => {
    const d = map([idpUser({ idpId: 'a', userName: 'ada@acme.com', email: 'ada.lovelace@acme.com' }), idpUser({ idpId: 'b', userName: 'bob@acme.com', email: 'BOB@acme.com' })]);
    expect(d.users.map((u) => [u.idpId, u.email])).toEqual([
      ['a', 'ada.lovelace@acme.com'],
      ['b', undefined],
    ]);
    expect('email' in (d.users[1] as object)).toBe(false);
  });

  it('ENTRA_EMAIL_SOURCE=userName: never carried', () => {
    const d = map([idpUser({ idpId: 'a', userName: 'ada@acme.com', email: 'ada.lovelace@acme.com' })], { emailSource: 'userName' });
    expect('email' in (d.users[0] as object)).toBe(false);
  });

  it('an address that is not one is not sent, and holds nobody', () => {
    const d = map([idpUser({ idpId: 'a', userName: 'ada@acme.com', email: 'not an address' })]);
    expect(d.held).toEqual([]);
    expect('email' in (d.users[0] as object)).toBe(false);
  });
});
