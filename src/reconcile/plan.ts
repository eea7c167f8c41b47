import { byFinding } from '../mapping/map.ts';
import type { DesiredState } from '../model/desired.ts';
import type { DockerSnapshot } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { SourceKind } from '../model/idp.ts';
import type { Link } from '../model/link.ts';
import { OPERATION_KINDS, PLAN_SCHEMA_VERSION, subjectOf, type Operation, type OperationKind, type Plan, type PlanCounts } from '../model/plan.ts';
import { sortByKeys } from '../util/sort.ts';
import { foldJit, type JitInput } from './jit.ts';
import { planLeavers } from './leavers.ts';
import type { TeamSync } from './capabilities.ts';
import { classifyLinks } from './links.ts';
import type { PhaseContext } from './match.ts';
import { rosterOf } from './roster.ts';
import { guardLastOwners } from './owners.ts';
import { guardDeactivations } from './safety.ts';
import { managedTeamsOf, membershipRecords, planTeams, type TeamPlan } from './teams.ts';
import { findUnmanaged } from './unmanaged.ts';
import { planAssignedUsers } from './users.ts';

/**
 * The planner: desired × stored links × observed Docker → Plan. A pure function (no I/O, no clock,
 * no randomness), so the same inputs always give the same plan, in the same order.
 *
 * The rules it keeps (DESIGN.md invariants):
 * - only linked accounts, or accounts adopted in this plan as their own listed operation, change;
 * - accounts no assigned IdP user claims are reported as unmanaged and never touched;
 * - a held IdP user (assigned, but with a bad record) is never deactivated;
 * - deactivations beyond the thresholds are planned but blocked;
 * - no org this plan touches is left without an owner, unless forced.
 *
 * It runs as phases, each taking values and returning values; the order between them is stated
 * where it matters.
 */

export interface PlanOptions {
  readonly adoptExisting: boolean;
  readonly deactivate: boolean;
  readonly maxDeactivations: number;
  readonly maxDeactivationPercent: number;
  readonly force: boolean;
  /** Lets a change remove the last owner of an org (`--force-last-owner`); `force` does not. */
  readonly forceLastOwner?: boolean;
}

export interface PlanInput {
  readonly source: SourceKind;
  /** Users the IdP listed (valid or not), for the counts and the empty-read guard. */
  readonly idpUsers: number;
  readonly desired: DesiredState;
  readonly links: readonly Link[];
  readonly observed: DockerSnapshot;
  readonly options: PlanOptions;
  /** Findings from earlier stages (source notes, interrupted runs) to carry into the report. */
  readonly findings?: readonly Finding[];
  /** An incremental run: the plan covers these IdP users alone. Absent: a full run. */
  readonly scope?: PlanScope;
  /** A run meant to be incremental that read everything instead, and why (for the report). */
  readonly fullReason?: string;
  /** Whether teams are synced this run (capabilities.ts); absent: they are. */
  readonly teams?: TeamSync;
  /**
   * Teams (lower case) no operation may touch this run: both names of a team group renamed in the
   * IdP and not yet in Docker (team-renames.ts). Their TEAM_RENAMED findings come in `findings`.
   */
  readonly frozenTeams?: ReadonlySet<string>;
  /** Lower-cased team key → the IdP group that makes it (a full run's), for a new team's externalId. */
  readonly teamSources?: ReadonlyMap<string, string>;
  /** Drift streaks of earlier runs, to name JIT once instead of a DRIFT line per run (jit.ts). */
  readonly jit?: JitInput;
}

/**
 * What an incremental run planned from: the IdP users its change feed named, read afresh, and the
 * Docker accounts they have or name. `links` and `observed` then hold only what concerns them, so
 * the plan must not read anything into what is missing from them: a link outside the scope is
 * never a leaver, no account is listed as unmanaged, and the deactivation share is taken over the
 * managed accounts the state file knows, not the few this run looked up.
 */
export interface PlanScope {
  readonly idpIds: ReadonlySet<string>;
  /** Links whose last applied state is active (StateStore.activeLinkCount). */
  readonly managedActive: number;
  /** Every link the state file holds. */
  readonly managed: number;
  /** Docker was listed whole this run (VERIFY_EVERY), not only looked up. */
  readonly dockerListed: boolean;
}

const SOURCE_NAME: Record<SourceKind, string> = { okta: 'Okta', entra: 'Entra ID' };

export function buildPlan(input: PlanInput): Plan {
  const { desired, links, observed, options } = input;
  const idp = SOURCE_NAME[input.source];

  // 1. Who the IdP wants, and what each stored link points at now (disowned, vacating accounts).
  const roster = rosterOf(desired, input.scope?.idpIds ?? null);
  const view = classifyLinks(links, observed, roster);
  const ctx: PhaseContext = { idp, roster, view };

  // 2–3. Active users first: an active user may take over the account of an inactive one with the
  // same userName (a leaver and their rehire), and the inactive one must then not deactivate it.
  // So leavers start from the accounts the active users claimed.
  const assigned = planAssignedUsers(desired.users.filter((u) => u.active), ctx, options);
  const leavers = planLeavers(desired.users.filter((u) => !u.active), ctx, assigned.claimed);

  // 4. Teams, for the users phase 2 keeps active; none at all when this connection has no teams
  // to sync (then observed.groups is empty, and planning against it would re-add everyone).
  const teamSync = input.teams ?? { sync: true };
  const planned = teamSync.sync ? planTeams({ members: assigned.members, groups: observed.groups, managedTeams: managedTeamsOf(desired.users, links, desired.connection?.orgs ?? null), ...(input.teamSources ? { sources: input.teamSources } : {}) }) : NO_TEAMS;
  const teams = input.frozenTeams?.size ? freeze(planned, input.frozenTeams) : planned;

  // 5. Accounts nobody claims: after every other finding, since an account one already names is not listed again.
  const earlier: readonly Finding[] = [...desired.findings, ...(input.findings ?? []), ...(teamSync.sync ? [] : [teamsSkipped(teamSync.reason, desired)]), ...assigned.findings, ...leavers.findings];
  // An incremental run knows only some links: every other managed account would look unclaimed.
  const unmanaged = input.scope ? [] : findUnmanaged(observed.users, { claimed: leavers.claimed, linked: view.linkByDocker, findings: earlier }, idp, desired.connection?.verifiedDomains ?? null);

  // 6. The safety verdict over every deactivation planned above, blocking them if it must.
  const guarded = guardDeactivations({
    operations: [...assigned.operations, ...leavers.operations],
    managedActive: input.scope ? input.scope.managedActive : view.managedActive,
    // The empty-read guard asks whether the IdP listed nobody; an incremental run that re-read one
    // leaver lists nobody by design, and the users it did not read are still there.
    idpUsers: input.scope ? Math.max(input.idpUsers, input.scope.managedActive) : input.idpUsers,
    options,
  });

  // 7. No org left without an owner. After the deactivation guard, whose count still includes every
  // deactivation planned, so keeping an owner here never makes a mass deactivation look smaller.
  const owners = guardLastOwners({
    operations: guarded.operations,
    accountById: view.accountById,
    linkByDocker: view.linkByDocker,
    complete: !input.scope || input.scope.dockerListed,
    force: options.forceLastOwner === true,
  });

  const operations = sortByKeys([...teams.groupCreates, ...owners.operations, ...teams.adds, ...teams.removes], operationOrder);
  // 8. A field set back run after run is JIT at work: named once per field, not as fresh drift.
  const all = [...earlier, ...unmanaged, ...guarded.findings, ...owners.findings];
  const findings = (input.jit ? foldJit(all, operations, input.jit) : all).sort(byFinding);
  return {
    schemaVersion: PLAN_SCHEMA_VERSION,
    source: input.source,
    operations,
    memberships: teamSync.sync ? membershipRecords(teams.satisfied, view.linkByIdp, assigned.members) : [],
    findings,
    safety: guarded.safety,
    counts: countPlan(input, operations, findings),
    coverage: input.scope
      ? { mode: 'incremental', users: input.scope.idpIds.size, dockerListed: input.scope.dockerListed }
      : { mode: 'full', ...(input.fullReason ? { reason: input.fullReason } : {}) },
  };
}

const NO_TEAMS: TeamPlan = { groupCreates: [], adds: [], removes: [], satisfied: new Map() };

/** The team plan without any change to a frozen team (a rename pending in Docker). */
function freeze(plan: TeamPlan, frozen: ReadonlySet<string>): TeamPlan {
  const open = (op: { group: string }) => !frozen.has(op.group.toLowerCase());
  return { groupCreates: plan.groupCreates.filter(open), adds: plan.adds.filter(open), removes: plan.removes.filter(open), satisfied: plan.satisfied };
}

function teamsSkipped(reason: string, desired: DesiredState): Finding {
  const teams = new Set<string>();
  let users = 0;
  for (const u of desired.users) {
    if (!u.active || u.teams.length === 0) continue;
    users += 1;
    for (const t of u.teams) teams.add(t.toLowerCase());
  }
  return {
    code: 'TEAM_SYNC_UNAVAILABLE',
    severity: 'warning',
    subject: 'teams',
    message: `team sync is skipped: ${reason}. Users are still synced, a new account in the team its own attributes name; no team membership is read or changed (the IdP puts ${users} user${users === 1 ? '' : 's'} in ${teams.size} team${teams.size === 1 ? '' : 's'})`,
    advice: 'manage teams in Docker by hand meanwhile; if this connection does serve /Groups, set DOCKER_TEAM_SYNC=on',
  };
}

function countPlan(input: PlanInput, operations: readonly Operation[], findings: readonly Finding[]): PlanCounts {
  return {
    idpUsers: input.idpUsers,
    desiredActive: input.desired.users.filter((u) => u.active).length,
    dockerUsers: input.observed.users.length,
    managed: input.scope ? input.scope.managed : input.links.length,
    ...countOperations(operations, findings),
  };
}

/** The counts that follow from a plan's operations and findings (the rest describe its inputs). */
export function countOperations(operations: readonly Operation[], findings: readonly Finding[]): Pick<PlanCounts, 'operations' | 'blocked' | 'findings'> {
  const opCounts = Object.fromEntries(OPERATION_KINDS.map((k) => [k, 0])) as Record<OperationKind, number>;
  for (const op of operations) opCounts[op.kind] += 1;
  return {
    operations: opCounts,
    blocked: operations.filter((o) => o.blocked).length,
    findings: {
      error: findings.filter((f) => f.severity === 'error').length,
      warning: findings.filter((f) => f.severity === 'warning').length,
      info: findings.filter((f) => f.severity === 'info').length,
    },
  };
}

const KIND_ORDER = new Map(OPERATION_KINDS.map((k, i) => [k, i]));

/** Groups first, then users by kind, team changes, and deactivations last; alphabetical within. */
function operationOrder(op: Operation): [number, string, string] {
  return [KIND_ORDER.get(op.kind) ?? 0, subjectOf(op).toLowerCase(), op.id];
}
