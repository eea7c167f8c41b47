import { cmp } from '../mapping/map.ts';
import { isOrgInScope, orgOfTeam } from '../mapping/policy.ts';
import { sortByKeys } from '../util/sort.ts';
import type { DesiredUser } from '../model/desired.ts';
import type { DockerGroup } from '../model/docker.ts';
import type { Link } from '../model/link.ts';
import type { GroupCreateOperation, MembershipRecord, TeamMember, TeamOperation } from '../model/plan.ts';

/**
 * Team membership as SCIM Groups. For every user this tool manages and keeps active, membership of
 * the teams it manages converges on what the IdP says: teams named by anyone's attributes or
 * org:team groups this run, or applied by this tool before, in an organization this connection
 * covers (DOCKER_ORGS). Teams outside that set, and accounts the tool does not manage, are never
 * touched. Team names compare case-insensitively, as Docker's do.
 * Phase 4 of the planner: its members are the users phase 2 keeps active.
 */

export interface ManagedMember extends TeamMember {
  /** Desired org:team keys. */
  readonly teams: readonly string[];
  /**
   * For a user this run creates: the team (`org:team`) the create itself puts them in. Docker's
   * POST /Users places a new account in the team its extension names (docker-scim.md §6, rules 19
   * and 20 of docker-docs-2026.md), so adding them to it again is a write that changes nothing:
   * 1,030 of them at 100,000 users, each answered with the whole team. If Docker ever did not
   * place them, the next run sees it and adds them then.
   */
  readonly placedIn?: string;
  /**
   * The teams the member's link records as applied. A team they are in and that is recorded needs
   * no membership record, so planTeams leaves it out of `satisfied` rather than list 100,000 users
   * for membershipRecords to drop again.
   */
  readonly recorded?: readonly string[];
}

export interface TeamPlanInput {
  readonly members: readonly ManagedMember[];
  readonly groups: readonly DockerGroup[];
  /** Teams this tool manages (see above), any case. */
  readonly managedTeams: Iterable<string>;
  /** Lower-cased team key → the id of the IdP group that makes it, for a new team's externalId. */
  readonly sources?: ReadonlyMap<string, string>;
}

export interface TeamPlan {
  readonly groupCreates: GroupCreateOperation[];
  readonly adds: TeamOperation[];
  readonly removes: TeamOperation[];
  /**
   * Per member (by idpId): desired teams Docker already has them in (original spelling), less
   * those their `recorded` teams already hold.
   */
  readonly satisfied: ReadonlyMap<string, readonly string[]>;
}

export function planTeams(input: TeamPlanInput): TeamPlan {
  const groupByKey = new Map<string, DockerGroup>();
  for (const g of input.groups) if (!groupByKey.has(g.displayName.toLowerCase())) groupByKey.set(g.displayName.toLowerCase(), g);
  const teamsOf = teamsByAccount(input.groups);
  const managed = new Set<string>();
  for (const t of input.managedTeams) managed.add(t.toLowerCase());

  const satisfied = new Map<string, string[]>();
  const adds = new Map<string, { display: string; members: TeamMember[]; users: number }>();
  const removes = new Map<string, { display: string; members: TeamMember[] }>();
  const none: readonly string[] = [];
  for (const m of input.members) {
    const current = m.dockerId ? (teamsOf.get(m.dockerId) ?? none) : m.placedIn ? [m.placedIn.toLowerCase()] : none;
    let member: TeamMember | undefined;
    const asMember = (): TeamMember => (member ??= { idpId: m.idpId, userName: m.userName, dockerId: m.dockerId, ...(m.fromOperation ? { fromOperation: m.fromOperation } : {}) });
    // Loops rather than a mapped array and closures per member: this runs for 100,000 of them,
    // nearly all in one or two teams.
    const desired = m.teams;
    for (let i = 0; i < desired.length; i++) {
      const key = (desired[i] as string).toLowerCase();
      // A team named twice (in two spellings) counts once, in the place of its first, spelled as its last.
      if (indexOfTeam(desired, key) !== i) continue;
      const display = desired[lastIndexOfTeam(desired, key)] as string;
      if (current.includes(key)) {
        // Already recorded on the member's link: nothing for membershipRecords to add.
        if (m.recorded && indexOfTeam(m.recorded, key) !== -1) continue;
        const list = satisfied.get(m.idpId);
        if (list) list.push(display);
        else satisfied.set(m.idpId, [display]);
        continue;
      }
      const entry = adds.get(key) ?? { display: groupByKey.get(key)?.displayName ?? display, members: [], users: 0 };
      entry.members.push(asMember());
      adds.set(key, entry);
    }
    for (let i = 0; i < current.length; i++) {
      const key = current[i] as string;
      if (current.indexOf(key) !== i || indexOfTeam(desired, key) !== -1 || !managed.has(key)) continue;
      const entry = removes.get(key) ?? { display: groupByKey.get(key)?.displayName ?? key, members: [] };
      entry.members.push(asMember());
      removes.set(key, entry);
    }
  }

  const byUser = (members: TeamMember[]) => sortByKeys(members, (m) => [m.userName.toLowerCase(), m.idpId]);
  const groupCreates: GroupCreateOperation[] = [];
  const addOps: TeamOperation[] = [];
  for (const [key, entry] of [...adds].sort(([a], [b]) => cmp(a, b))) {
    const existing = groupByKey.get(key);
    if (!existing) {
      const externalId = input.sources?.get(key);
      groupCreates.push({
        id: `group-create:${key}`,
        kind: 'group-create',
        group: entry.display,
        ...(externalId ? { externalId } : {}),
        reason: `team needed by ${entry.members.length} user${entry.members.length === 1 ? '' : 's'} does not exist in Docker yet`,
      });
    }
    addOps.push({
      id: `team-add:${key}`,
      kind: 'team-add',
      group: existing?.displayName ?? entry.display,
      groupId: existing?.id ?? null,
      members: byUser(entry.members),
      reason: `${entry.members.length} user${entry.members.length === 1 ? '' : 's'} belong${entry.members.length === 1 ? 's' : ''} in this team per the IdP (dockerTeam or an org:team group)`,
    });
  }
  const removeOps: TeamOperation[] = [];
  for (const [key, entry] of [...removes].sort(([a], [b]) => cmp(a, b))) {
    const existing = groupByKey.get(key);
    removeOps.push({
      id: `team-remove:${key}`,
      kind: 'team-remove',
      group: entry.display,
      groupId: existing?.id ?? null,
      members: byUser(entry.members),
      reason: `${entry.members.length} user${entry.members.length === 1 ? '' : 's'} no longer belong${entry.members.length === 1 ? 's' : ''} in this team per the IdP`,
    });
  }
  return { groupCreates, adds: addOps, removes: removeOps, satisfied };
}

/** Where a team (a lowercased key) first appears in a list of team names of any case, or -1. */
function indexOfTeam(teams: readonly string[], key: string): number {
  for (let i = 0; i < teams.length; i++) if ((teams[i] as string).toLowerCase() === key) return i;
  return -1;
}

function lastIndexOfTeam(teams: readonly string[], key: string): number {
  for (let i = teams.length - 1; i >= 0; i--) if ((teams[i] as string).toLowerCase() === key) return i;
  return -1;
}

/**
 * Each account's teams, by Docker id, as lowercased names. Arrays, not sets: a user is in one or
 * two teams, and the default team alone has every member, so a set each was 100,000 sets at
 * 100,000 users.
 */
export function teamsByAccount(groups: readonly DockerGroup[]): Map<string, string[]> {
  const teamsOf = new Map<string, string[]>();
  for (const g of groups) {
    const key = g.displayName.toLowerCase();
    for (const m of g.members) {
      const list = teamsOf.get(m);
      if (list) list.push(key);
      else teamsOf.set(m, [key]);
    }
  }
  return teamsOf;
}

/**
 * The teams this tool manages: named by any mapped user this run, or applied by this tool before,
 * less those of organizations outside `orgs` (null: any). A team applied before DOCKER_ORGS left its
 * organization out is no longer this tool's: its members are never removed from it.
 */
export function managedTeamsOf(users: readonly DesiredUser[], links: readonly Link[], orgs: readonly string[] | null = null): Set<string> {
  const managed = new Set<string>();
  for (const d of users) for (const t of d.teams) managed.add(t);
  for (const l of links) for (const t of l.applied.teams) managed.add(t);
  // The mapping gives users no team outside `orgs`; the filter is for what links recorded before.
  // Applied once to the handful of distinct teams, not to every team of 100,000 links.
  if (orgs) for (const t of managed) if (!isOrgInScope(orgOfTeam(t), orgs)) managed.delete(t);
  return managed;
}

/**
 * Teams members are already in, as the IdP wants, that their link does not yet record as applied
 * (see MembershipRecord), by IdP id. An adopted member's record waits for their adoption, as their
 * team changes do.
 */
export function membershipRecords(satisfied: TeamPlan['satisfied'], linkByIdp: ReadonlyMap<string, Link>, members: readonly TeamMember[]): MembershipRecord[] {
  const pending = new Map<string, string>();
  for (const m of members) if (m.fromOperation) pending.set(m.idpId, m.fromOperation);
  const records: MembershipRecord[] = [];
  for (const [idpId, list] of satisfied) {
    // One or two teams a user, as a rule: a scan beats building a set for each of 100,000 users.
    const recorded = linkByIdp.get(idpId)?.applied.teams ?? [];
    const teams = list.filter((t) => !recorded.some((r) => r.toLowerCase() === t.toLowerCase()));
    if (teams.length === 0) continue;
    const fromOperation = pending.get(idpId);
    // A copy of exact size: the filtered array keeps room for more (17 MB over 95,000 new users).
    records.push({ idpId, teams: teams.sort().slice(), ...(fromOperation ? { fromOperation } : {}) });
  }
  return records.sort((a, b) => cmp(a.idpId, b.idpId));
}
