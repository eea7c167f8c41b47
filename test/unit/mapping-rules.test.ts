import { describe, expect, it } from 'vitest';
import { parseTeamGroup, placeUser } from '../../src/mapping/rules.ts';

/**
 * Docker's role/org/team table (reference docker-scim.md §6), one row per line of the documented
 * table, then every invalid case. Defaults: org "acme", team "everyone".
 */
const defaults = { defaultOrg: 'acme', defaultTeam: 'everyone' };

describe('placement rules (docker-scim.md §6)', () => {
  it.each([
    // dockerOrg, dockerTeam → org, extension team, memberships
    { rule: 'row 1, neither set: default org + default team', org: [], team: [], want: { org: 'acme', team: 'everyone', teams: ['acme:everyone'], row: 1 } },
    { rule: 'row 2, dockerOrg alone: that org, no team (not the default team)', org: ['moby'], team: [], want: { org: 'moby', team: null, teams: [], row: 2 } },
    { rule: 'row 3, dockerTeam alone: default org + that team instead of the default', org: [], team: ['backend'], want: { org: 'acme', team: 'backend', teams: ['acme:backend'], row: 3 } },
    { rule: 'row 4, both: that team in that org', org: ['moby'], team: ['backend'], want: { org: 'moby', team: 'backend', teams: ['moby:backend'], row: 4 } },
    { rule: 'several teams: all of them, the first in the extension', org: ['moby'], team: ['web', 'api'], want: { org: 'moby', team: 'web', teams: ['moby:api', 'moby:web'], row: 4 } },
    { rule: 'org names are lowercase in Docker', org: ['Moby'], team: [], want: { org: 'moby', team: null, teams: [], row: 2 } },
    { rule: 'blank values count as unset', org: ['  '], team: [''], want: { org: 'acme', team: 'everyone', teams: ['acme:everyone'], row: 1 } },
    { rule: 'repeated values count once', org: ['moby', 'moby'], team: ['web', 'web'], want: { org: 'moby', team: 'web', teams: ['moby:web'], row: 4 } },
  ])('$rule', ({ org, team, want }) => {
    expect(placeUser({ dockerRole: [], dockerOrg: org, dockerTeam: team }, defaults)).toEqual({ role: 'member', ...want });
  });

  it('with no default team configured, neither set gives the default org and no team', () => {
    expect(placeUser({ dockerRole: [], dockerOrg: [], dockerTeam: [] }, { defaultOrg: 'acme', defaultTeam: null })).toEqual({ role: 'member', org: 'acme', team: null, teams: [], row: 1 });
  });

  it.each([
    { role: [], want: 'member', rule: 'unset: member' },
    { role: ['member'], want: 'member', rule: 'member' },
    { role: ['editor'], want: 'editor', rule: 'editor' },
    { role: ['owner'], want: 'owner', rule: 'owner' },
    { role: ['Editor '], want: 'editor', rule: 'case and spaces are forgiven' },
  ])('dockerRole $rule', ({ role, want }) => {
    expect(placeUser({ dockerRole: role, dockerOrg: [], dockerTeam: [] }, defaults)).toMatchObject({ role: want });
  });

  it.each([
    { rule: 'unknown role', attrs: { dockerRole: ['superuser'] }, code: 'UNKNOWN_ROLE' },
    { rule: 'two roles', attrs: { dockerRole: ['editor', 'owner'] }, code: 'AMBIGUOUS_ATTRIBUTE' },
    { rule: 'two orgs', attrs: { dockerOrg: ['a1', 'b2'] }, code: 'AMBIGUOUS_ATTRIBUTE' },
    { rule: 'org with a space', attrs: { dockerOrg: ['my org'] }, code: 'INVALID_ORG' },
    { rule: 'org with a colon', attrs: { dockerOrg: ['a:b'] }, code: 'INVALID_ORG' },
    { rule: 'org too long', attrs: { dockerOrg: ['a'.repeat(256)] }, code: 'INVALID_ORG' },
    { rule: 'team with a colon', attrs: { dockerTeam: ['x:y'] }, code: 'INVALID_TEAM' },
    { rule: 'team with a quote', attrs: { dockerTeam: ['we"b'] }, code: 'INVALID_TEAM' },
    { rule: 'team with a space', attrs: { dockerTeam: ['back end'] }, code: 'INVALID_TEAM' },
  ])('rejects $rule as $code, without guessing', ({ attrs, code }) => {
    const result = placeUser({ dockerRole: [], dockerOrg: [], dockerTeam: [], ...attrs }, defaults);
    expect(Array.isArray(result)).toBe(true);
    expect((result as Array<{ code: string }>).map((p) => p.code)).toContain(code);
  });
});

describe('several roles (ENTRA_ROLE_CONFLICT)', () => {
  const place = (dockerRole: string[], roleConflict?: 'hold' | 'highest') => placeUser({ dockerRole, dockerOrg: [], dockerTeam: [] }, { ...defaults, ...(roleConflict ? { roleConflict } : {}) });
  const codes = (r: ReturnType<typeof place>) => (Array.isArray(r) ? r.map((p) => p.code) : 'placed');

  it.each([
    { rule: 'hold (the default): owner + member is held', roles: ['owner', 'member'], policy: undefined, want: ['AMBIGUOUS_ATTRIBUTE'] },
    { rule: 'hold, said outright: held', roles: ['member', 'editor'], policy: 'hold' as const, want: ['AMBIGUOUS_ATTRIBUTE'] },
    { rule: 'highest: an unknown role among known ones holds the user, nothing is picked', roles: ['member', 'superuser'], policy: 'highest' as const, want: ['UNKNOWN_ROLE'] },
    { rule: 'highest: an unknown role ranked first still holds', roles: ['admin', 'owner', 'member'], policy: 'highest' as const, want: ['UNKNOWN_ROLE'] },
  ])('$rule', ({ roles, policy, want }) => {
    expect(codes(place(roles, policy))).toEqual(want);
  });

  it.each([
    { roles: ['owner', 'member'], want: 'owner' },
    { roles: ['member', 'owner'], want: 'owner' },
    { roles: ['editor', 'member'], want: 'editor' },
    { roles: ['member', 'editor'], want: 'editor' },
    { roles: ['Member', 'editor', 'OWNER'], want: 'owner' },
  ])('highest: $roles → $want, and the placement names every role for the report', ({ roles, want }) => {
    const r = place(roles, 'highest');
    expect(r).toMatchObject({ role: want, org: 'acme', team: 'everyone' });
    expect(Array.isArray(r) ? [] : r.roleConflict?.slice().sort()).toEqual(roles.map((x) => x.toLowerCase()).sort());
  });

  it('one role is no conflict, whatever the policy', () => {
    expect(place(['editor'], 'highest')).toEqual({ role: 'editor', org: 'acme', team: 'everyone', teams: ['acme:everyone'], row: 1 });
  });
});

describe('org:team group names', () => {
  it.each([
    { name: 'moby:backend', want: { org: 'moby', team: 'backend', key: 'moby:backend' } },
    { name: 'Moby:Backend', want: { org: 'moby', team: 'Backend', key: 'moby:Backend' } },
    { name: 'whale:desktop-ui', want: { org: 'whale', team: 'desktop-ui', key: 'whale:desktop-ui' } },
  ])('$name is a team group', ({ name, want }) => {
    expect(parseTeamGroup(name)).toEqual(want);
  });

  it('a name without a colon only grants the app', () => {
    expect(parseTeamGroup('Docker Users')).toBe('not-a-team-group');
  });

  it.each(['moby:', ':backend', 'a:b:c', 'moby:back end', 'my org:team', 'moby:te"am'])('%s is malformed and reported', (name) => {
    const r = parseTeamGroup(name);
    expect(typeof r === 'object' && 'code' in r).toBe(true);
  });
});
