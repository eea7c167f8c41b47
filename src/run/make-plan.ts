import type { Config } from '../config/types.ts';
import { mapSnapshot } from '../mapping/map.ts';
import type { MappingPolicy } from '../mapping/policy.ts';
import type { DockerSnapshot } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { IdpSnapshot } from '../model/idp.ts';
import type { Link } from '../model/link.ts';
import type { Plan } from '../model/plan.ts';
import type { TeamSync } from '../reconcile/capabilities.ts';
import { buildPlan, type PlanInput } from '../reconcile/plan.ts';
import type { StateStore } from '../state/store.ts';

/**
 * From what a run read to its plan: the mapping with the configuration's policy, then the planner
 * with the run's options. Shared by full, incremental and targeted runs, so each plans alike.
 */

export interface PlanDeps {
  readonly config: Config;
  readonly state: StateStore;
}

export interface PlanOptions {
  readonly noDeactivate: boolean;
  readonly force: boolean;
  readonly forceLastOwner?: boolean;
}

export function makePlan(
  deps: PlanDeps,
  opts: PlanOptions,
  input: { snapshot: IdpSnapshot; links: readonly Link[]; observed: DockerSnapshot; teams: TeamSync; findings: Finding[] } & Pick<PlanInput, 'scope' | 'fullReason' | 'frozenTeams' | 'teamSources'>,
): Plan {
  const { config } = deps;
  const desired = mapSnapshot(input.snapshot, mappingPolicyOf(config));
  return buildPlan({
    source: config.source,
    idpUsers: input.snapshot.users.length,
    desired,
    links: input.links,
    observed: input.observed,
    options: {
      adoptExisting: config.sync.adoptExisting,
      deactivate: config.sync.deactivate && !opts.noDeactivate,
      maxDeactivations: config.sync.maxDeactivations,
      maxDeactivationPercent: config.sync.maxDeactivationPercent,
      force: opts.force,
      forceLastOwner: opts.forceLastOwner === true,
    },
    findings: input.findings,
    teams: input.teams,
    jit: { streaks: deps.state.driftStreaks(), threshold: config.sync.jitDetectRuns },
    ...(input.frozenTeams ? { frozenTeams: input.frozenTeams } : {}),
    ...(input.teamSources ? { teamSources: input.teamSources } : {}),
    ...(input.scope ? { scope: input.scope } : {}),
    ...(input.fullReason ? { fullReason: input.fullReason } : {}),
  });
}

/**
 * What the mapping needs of the configuration. A role conflict is an Entra matter (several app
 * roles); an Okta attribute with several roles is a data error, held whatever ENTRA_ROLE_CONFLICT says.
 */
export function mappingPolicyOf(config: Config): MappingPolicy {
  const entra = config.source === 'entra' ? config.entra : null;
  return {
    defaultOrg: config.docker.defaultOrg,
    defaultTeam: config.docker.defaultTeam,
    verifiedDomains: config.docker.verifiedDomains,
    orgs: config.docker.orgs,
    roleConflict: entra?.roleConflict ?? 'hold',
    emailSource: entra?.emailSource ?? 'mail',
  };
}

export function sourceFindings(snapshot: Pick<IdpSnapshot, 'notes'>): Finding[] {
  return snapshot.notes.map((n) => ({ code: 'SOURCE_NOTE', severity: 'info', subject: n.subject, message: n.message }));
}
