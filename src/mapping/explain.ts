import type { DockerAttributeName, IdpUser, MappingTrace, SourceKind, TracedValue } from '../model/idp.ts';
import { mapSnapshot } from './map.ts';
import type { MappingPolicy } from './policy.ts';
import { PLACEMENT_ROWS, parseTeamGroup, placeUser } from './rules.ts';
import { preview } from './validate.ts';

/**
 * `explain`'s account of one IdP user: each value Docker should hold, with the attribute, app role
 * or group it came from and the row of Docker's placement table that applied. It runs the same
 * rules the run does (mapSnapshot, placeUser) on the user alone, so what it says is what the plan
 * was made from, never a second reading of the rules. Pure: no I/O, no clock.
 */

/** `groupNames`: names of groups by id, where the read knew them (ScopedRead.groupNames). */
export function traceMapping(user: IdpUser, source: SourceKind, policy: MappingPolicy, groupNames: ReadonlyMap<string, string> = new Map()): MappingTrace {
  const mapped = mapSnapshot({ source, users: [user], groups: [], notes: [], stats: { requests: 0, pages: 0, durationMs: 0 } }, policy);
  const desired = mapped.users[0] ?? null;
  const placement = placeUser(user, policy);
  const placed = Array.isArray(placement) ? null : placement;
  const origin = (name: DockerAttributeName) => user.provenance?.attributes[name] ?? name;
  const said = (name: DockerAttributeName) => `${origin(name)}: ${user[name].map((v) => preview(v)).join(', ')}`;
  const isSet = (name: DockerAttributeName) => user[name].some((v) => v.trim() !== '');

  const role: TracedValue = {
    value: desired?.role ?? null,
    from: isSet('dockerRole') ? said('dockerRole') : `${origin('dockerRole')} is unset: member by default`,
  };
  const org: TracedValue = {
    value: desired?.org ?? null,
    from: isSet('dockerOrg') ? said('dockerOrg') : `${origin('dockerOrg')} is unset: the default organization (DOCKER_DEFAULT_ORG=${policy.defaultOrg})`,
  };
  const team: TracedValue = {
    value: desired?.team ?? null,
    from: isSet('dockerTeam')
      ? said('dockerTeam')
      : placed?.row === 2
        ? `${origin('dockerTeam')} is unset and dockerOrg is set: no team`
        : policy.defaultTeam
          ? `${origin('dockerTeam')} is unset: the default team (DOCKER_DEFAULT_TEAM=${policy.defaultTeam})`
          : `${origin('dockerTeam')} is unset, and no DOCKER_DEFAULT_TEAM is configured: no team`,
  };

  // What gives each team: the attributes' placement (row 1's default team, or dockerTeam), else a group.
  const byGroup = new Map<string, string[]>();
  const otherGroups: { group: string; why: string }[] = [];
  for (const g of user.groups) {
    const parsed = parseTeamGroup(g);
    if (parsed === 'not-a-team-group') otherGroups.push({ group: g, why: 'not named organization:team, so it gives no team' });
    else if ('code' in parsed) otherGroups.push({ group: g, why: parsed.message });
    else byGroup.set(parsed.key, [...(byGroup.get(parsed.key) ?? []), g]);
  }
  const fromAttributes = new Set(placed?.teams ?? []);
  const teams = (desired?.teams ?? []).map((key) => {
    const groups = byGroup.get(key) ?? [];
    const sources = [
      ...(fromAttributes.has(key) ? [isSet('dockerTeam') ? origin('dockerTeam') : 'the default team (DOCKER_DEFAULT_TEAM)'] : []),
      ...groups.map((g) => `the group ${g}`),
    ];
    return { team: key, from: sources.join(' and ') || 'the mapping' };
  });
  // An org:team group the mapping dropped (another organization than DOCKER_ORGS covers): say why.
  if (desired) {
    const kept = new Set(desired.teams);
    for (const [key, groups] of byGroup) {
      if (kept.has(key)) continue;
      const finding = mapped.findings.find((f) => groups.includes(f.subject));
      for (const g of groups) otherGroups.push({ group: g, why: finding?.message ?? 'gives no team this connection manages' });
    }
  }

  return {
    assignment: assignmentOf(user, groupNames),
    active: { value: user.active, from: user.provenance?.active ?? user.note ?? (user.active ? 'active in the IdP' : 'inactive in the IdP') },
    role,
    org,
    team,
    row: placed?.row ?? null,
    rowRule: placed ? PLACEMENT_ROWS[placed.row] : 'none: the values do not place the user (see the findings)',
    teams,
    otherGroups,
    placed: desired !== null,
  };
}

/** "directly", "through the group Docker Users", or both; the IdP's note when the source gave no provenance. */
function assignmentOf(user: IdpUser, groupNames: ReadonlyMap<string, string>): string {
  const p = user.provenance;
  if (!p) return user.note ?? 'assigned to the Docker app';
  const groups = p.viaGroups.map((id) => {
    const name = groupNames.get(id);
    return name ? `the group ${name}` : `the group ${id}`;
  });
  const via = groups.length ? `through ${groups.join(', ')}` : '';
  if (p.direct) return via ? `directly and ${via}` : 'directly';
  return via || 'through a group the IdP did not name';
}
