import { describe, expect, it } from 'vitest';
import { traceMapping } from '../../src/mapping/explain.ts';
import type { MappingPolicy } from '../../src/mapping/policy.ts';
import type { Provenance } from '../../src/model/idp.ts';
import type { Plan } from '../../src/model/plan.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { explainJson, explainText, type Explanation, type PersonExplanation } from '../../src/report/explain.ts';
import { holdingOf, nextFor } from '../../src/run/explain.ts';
import { desired, dockerUser, group, idpUser, link } from '../support/builders.ts';

/**
 * `explain`'s pure parts: the mapping trace (which row of Docker's table, and where each value
 * came from), what of a plan concerns one person, and the words it is printed in.
 */

const policy: MappingPolicy = { defaultOrg: 'acme', defaultTeam: 'everyone' };
const OKTA: Provenance['attributes'] = {
  dockerRole: 'profile.dockerRole (Okta app user profile)',
  dockerOrg: 'profile.dockerOrg (Okta app user profile)',
  dockerTeam: 'profile.dockerTeam (Okta app user profile)',
};
const direct: Provenance = { direct: true, viaGroups: [], attributes: OKTA };

describe('the mapping trace names the row of Docker\'s table that applied (README "Docker\'s rules")', () => {
  it.each([
    { row: 1, org: [], team: [], want: { org: 'acme', team: 'everyone', teams: ['acme:everyone'] }, rule: /neither dockerOrg nor dockerTeam set/ },
    { row: 2, org: ['moby'], team: [], want: { org: 'moby', team: null, teams: [] }, rule: /dockerOrg set, dockerTeam unset/ },
    { row: 3, org: [], team: ['backend'], want: { org: 'acme', team: 'backend', teams: ['acme:backend'] }, rule: /dockerTeam set, dockerOrg unset/ },
    { row: 4, org: ['moby'], team: ['backend'], want: { org: 'moby', team: 'backend', teams: ['moby:backend'] }, rule: /dockerOrg and dockerTeam set/ },
  ])('row $row', ({ row, org, team, want, rule }) => {
    const t = traceMapping(idpUser({ idpId: 'u1', dockerOrg: org, dockerTeam: team, provenance: direct }), 'okta', policy);
    expect(t.row).toBe(row);
    expect(t.rowRule).toMatch(rule);
    expect({ org: t.org.value, team: t.team.value, teams: t.teams.map((x) => x.team) }).toEqual(want);
    expect(t.placed).toBe(true);
  });

  it('says where each value came from, or which default stood in for it', () => {
    const t = traceMapping(idpUser({ idpId: 'u1', dockerRole: ['owner'], provenance: direct }), 'okta', policy);
    expect(t.role).toEqual({ value: 'owner', from: 'profile.dockerRole (Okta app user profile): "owner"' });
    expect(t.org).toEqual({ value: 'acme', from: 'profile.dockerOrg (Okta app user profile) is unset: the default organization (DOCKER_DEFAULT_ORG=acme)' });
    expect(t.team).toEqual({ value: 'everyone', from: 'profile.dockerTeam (Okta app user profile) is unset: the default team (DOCKER_DEFAULT_TEAM=everyone)' });
    expect(t.teams).toEqual([{ team: 'acme:everyone', from: 'the default team (DOCKER_DEFAULT_TEAM)' }]);
    expect(traceMapping(idpUser({ idpId: 'u2', provenance: direct }), 'okta', policy).role.from).toBe('profile.dockerRole (Okta app user profile) is unset: member by default');
  });

  it('names the group behind each team, and why another group gives none', () => {
    const t = traceMapping(idpUser({ idpId: 'u1', dockerTeam: ['backend'], groups: ['acme:platform', 'acme:backend', 'Docker Users', 'a:b:c'], provenance: direct }), 'entra', policy);
    expect(t.teams).toEqual([
      { team: 'acme:backend', from: 'profile.dockerTeam (Okta app user profile) and the group acme:backend' },
      { team: 'acme:platform', from: 'the group acme:platform' },
    ]);
    expect(t.otherGroups).toEqual([
      { group: 'Docker Users', why: 'not named organization:team, so it gives no team' },
      { group: 'a:b:c', why: expect.stringContaining('more than one colon') },
    ]);
    const scoped = traceMapping(idpUser({ idpId: 'u1', groups: ['other:team'] }), 'okta', { ...policy, orgs: ['acme'] });
    expect(scoped.otherGroups).toEqual([{ group: 'other:team', why: expect.stringContaining('DOCKER_ORGS') }]);
  });

  it('how the user holds the app: directly, or through the groups, named where the read knew them', () => {
    const via: Provenance = { direct: false, viaGroups: ['g1', 'g2'], attributes: OKTA };
    expect(traceMapping(idpUser({ idpId: 'u1', provenance: via }), 'okta', policy, new Map([['g1', 'Docker Users']])).assignment).toBe('through the group Docker Users, the group g2');
    expect(traceMapping(idpUser({ idpId: 'u1', provenance: { ...via, direct: true } }), 'okta', policy, new Map()).assignment).toBe('directly and through the group g1, the group g2');
    expect(traceMapping(idpUser({ idpId: 'u1', note: 'okta app user PROVISIONED' }), 'okta', policy).assignment).toBe('okta app user PROVISIONED');
  });

  it('a user the rules cannot place: no row, held, the values named as the IdP sent them', () => {
    const t = traceMapping(idpUser({ idpId: 'u1', dockerRole: ['superuser'], provenance: direct }), 'okta', policy);
    expect(t.row).toBeNull();
    expect(t.placed).toBe(false);
    expect(t.role).toEqual({ value: null, from: 'profile.dockerRole (Okta app user profile): "superuser"' });
    // Placed by the table, but held all the same (a domain the connection does not cover): the row still applies.
    const unverified = traceMapping(idpUser({ idpId: 'u2', userName: 'x@elsewhere.org' }), 'okta', { ...policy, verifiedDomains: ['example.com'] });
    expect(unverified).toMatchObject({ row: 1, placed: false });
  });
});

describe('what of a plan concerns one person', () => {
  const ada = desired({ idpId: 'ada', userName: 'ada@example.com', teams: ['acme:everyone', 'acme:platform'] });
  const bob = desired({ idpId: 'bob', userName: 'bob@example.com', teams: ['acme:everyone', 'acme:platform'] });
  const plan: Plan = buildPlan({
    source: 'okta',
    idpUsers: 2,
    desired: { users: [ada, bob], held: [], deprovisioned: [], findings: [] },
    links: [link(bob, 'd-bob')],
    observed: { users: [dockerUser({ id: 'd-bob', userName: 'bob@example.com' })], groups: [group('acme:everyone', ['d-bob'])] },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 50, force: false },
  });

  it('their own operations, their line of each team change, and the team a membership of theirs needs created', () => {
    const next = nextFor('ada', plan);
    // The create puts her in acme:everyone (its extension team); acme:platform is a team change, shared with bob.
    expect(next.map((o) => o.kind)).toEqual(['group-create', 'create', 'team-add']);
    expect(next.filter((o) => o.kind === 'team-add').flatMap((o) => o.lines)).toEqual(['+ ada@example.com (acme:platform)']);
    expect(nextFor('bob', plan).flatMap((o) => o.lines)).toEqual(['new team acme:platform', '+ bob@example.com (acme:platform)']);
    for (const o of next) expect(o.reason).toBeTruthy();
  });

  it('what Docker holds: the linked account, one gone, one to adopt, one another link holds', () => {
    const observed = { users: [dockerUser({ id: 'd1', userName: 'Ada@Example.com' })], groups: [group('acme:everyone', ['d1'])] };
    const linked = link(ada, 'd1');
    expect(holdingOf('ada', 'ada@example.com', linked, { observed, links: [linked], teamsRead: true })).toMatchObject({ kind: 'linked', origin: 'created', account: { id: 'd1', teams: ['acme:everyone'] } });
    expect(holdingOf('ada', 'ada@example.com', link(ada, 'gone'), { observed, links: [], teamsRead: true })).toMatchObject({ kind: 'linked', dockerId: 'gone', account: null });
    expect(holdingOf('ada', 'ada@example.com', null, { observed, links: [], teamsRead: true })).toMatchObject({ kind: 'match', heldBy: null, account: { id: 'd1' } });
    expect(holdingOf('ada', 'ada@example.com', null, { observed, links: [link(bob, 'd1')], teamsRead: true })).toMatchObject({ kind: 'match', heldBy: 'bob' });
    expect(holdingOf('ada', 'ada@example.com', null, { observed: { users: [], groups: [] }, links: [], teamsRead: true })).toEqual({ kind: 'none' });
    // No groups read at all: team sync is off, so the teams are unknown rather than none.
    expect(holdingOf('ada', 'ada@example.com', linked, { observed: { users: observed.users, groups: [] }, links: [linked], teamsRead: false })).toMatchObject({ account: { teams: null } });
    // Teams read, and Docker has none yet (a first run): none, not "not read".
    expect(holdingOf('ada', 'ada@example.com', linked, { observed: { users: observed.users, groups: [] }, links: [linked], teamsRead: true })).toMatchObject({ account: { teams: [] } });
  });
});

describe('explain, in words', () => {
  const trace = traceMapping(idpUser({ idpId: '00u1', userName: 'ada@example.com', givenName: 'Ada', familyName: 'Lovelace', dockerRole: ['owner'], provenance: direct, note: 'okta app user PROVISIONED (USER)' }), 'okta', policy);
  const person: PersonExplanation = {
    idpId: '00u1',
    userName: 'ada@example.com',
    name: 'Ada Lovelace',
    idp: trace,
    docker: { kind: 'linked', origin: 'created', dockerId: 'd1', account: { id: 'd1', userName: 'ada@example.com', active: true, role: 'owner', org: 'acme', team: 'everyone', teams: ['acme:everyone'] } },
    next: [],
    findings: [],
    journal: [{ at: '2026-12-01T10:00:00.000Z', runId: 'r1', kind: 'create', status: 'succeeded', dockerId: 'd1', note: null }],
  };
  const explanation: Explanation = { email: 'ada@example.com', source: 'okta', generatedAt: '2026-12-02T00:00:00.000Z', people: [person], interruptedWrites: 0 };

  it('each decision with its source, the row, the account, nothing next, the journal', () => {
    const text = explainText(explanation);
    expect(text).toContain('Ada Lovelace <ada@example.com> · Okta user 00u1');
    expect(text).toContain('  assigned   directly');
    expect(text).toContain('  role       owner ← profile.dockerRole (Okta app user profile): "owner"');
    expect(text).toContain("  rule       row 1 of Docker's table: neither dockerOrg nor dockerTeam set: the default organization and the default team");
    expect(text).toContain('  teams      acme:everyone ← the default team (DOCKER_DEFAULT_TEAM)');
    expect(text).toContain('  account d1 (created by this tool): active, role owner, org acme, team everyone, teams acme:everyone');
    expect(text).toContain('  nothing: Docker matches');
    expect(text).toContain('  2026-12-01T10:00:00.000Z  run r1  create succeeded (Docker d1)');
  });

  it('the next operations with their reasons; a person the IdP no longer assigns; an unconfirmed journal', () => {
    const text = explainText({
      ...explanation,
      interruptedWrites: 2,
      people: [{ ...person, idp: null, next: [{ id: 'deactivate:00u1', kind: 'deactivate', reason: 'unassigned from the Docker app in Okta', lines: ['active: true → false'], blocked: 'last-owner' }], journal: [] }],
    });
    expect(text).toContain('not assigned to the Docker app (or gone from Okta): this tool deactivates the account it manages');
    expect(text).toContain('  deactivate (blocked: last-owner): active: true → false\n    because unassigned from the Docker app in Okta');
    expect(text).toContain('a previous run left 2 writes unconfirmed');
    expect(text).toContain("none: this tool has not written to this person's account");
  });

  it('as JSON: the same data, versioned', () => {
    const json = JSON.parse(explainJson(explanation)) as Explanation & { format: string; version: number };
    expect(json).toMatchObject({ format: 'docker-idp-sync/explain', version: 1, email: 'ada@example.com', people: [{ idp: { row: 1 } }] });
  });
});
