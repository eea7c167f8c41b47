import type { Finding } from '../model/finding.ts';
import type { BlockReason, SafetyVerdict, UserOperation } from '../model/plan.ts';

/**
 * The guard against mass deactivation. A run that would deactivate more than the configured count
 * or share of managed users applies nothing destructive; so does an IdP read that came back empty
 * while the tool manages users, whatever the thresholds say, because "everyone was unassigned at
 * once" is far likelier to be a broken app assignment or a wrong app id than a real event.
 */

export interface SafetyOptions {
  readonly maxDeactivations: number;
  readonly maxDeactivationPercent: number;
  readonly force: boolean;
  readonly deactivate: boolean;
}

export function judgeSafety(
  deactivations: number,
  managedUsers: number,
  idpAssigned: number,
  opts: SafetyOptions,
): SafetyVerdict {
  const percent = managedUsers > 0 ? (deactivations / managedUsers) * 100 : 0;
  let message: string | null = null;
  if (deactivations > 0 && idpAssigned === 0) {
    message = `the IdP returned no assigned users while this tool manages ${managedUsers}; all ${deactivations} deactivations are held (check the app id and its assignments)`;
  } else if (deactivations > opts.maxDeactivations) {
    message = `${deactivations} deactivations exceed MAX_DEACTIVATIONS=${opts.maxDeactivations}`;
  } else if (managedUsers > 0 && percent > opts.maxDeactivationPercent) {
    message = `${deactivations} deactivations are ${percent.toFixed(1)}% of ${managedUsers} managed users, above MAX_DEACTIVATION_PERCENT=${opts.maxDeactivationPercent}`;
  }
  const tripped = message !== null;
  return {
    deactivations,
    managedUsers,
    maxDeactivations: opts.maxDeactivations,
    maxDeactivationPercent: opts.maxDeactivationPercent,
    tripped,
    forced: tripped && opts.force,
    deactivationDisabled: !opts.deactivate,
    message,
  };
}

export interface GuardInput {
  /** The user operations planned so far, deactivations among them. */
  readonly operations: readonly UserOperation[];
  /** Managed accounts active in Docker now (see LinkView.managedActive). */
  readonly managedActive: number;
  /** Users the IdP listed, valid or not: zero with deactivations planned is a broken read, not an event. */
  readonly idpUsers: number;
  readonly options: SafetyOptions;
}

export interface Guarded {
  /** The same operations in the same order; deactivations marked `blocked` when they may not run. */
  readonly operations: UserOperation[];
  readonly safety: SafetyVerdict;
  readonly findings: Finding[];
}

/**
 * Phase 6 of the planner: judge the deactivations and block them when the thresholds trip (unless
 * forced) or DEACTIVATE=false. Blocked operations stay in the plan, so the report shows what a run
 * would have done.
 */
export function guardDeactivations(input: GuardInput): Guarded {
  const { options } = input;
  const deactivations = input.operations.filter((o) => o.kind === 'deactivate').length;
  const safety = judgeSafety(deactivations, input.managedActive, input.idpUsers, options);
  const block: BlockReason | null = !options.deactivate ? 'deactivation-disabled' : safety.tripped && !options.force ? 'safety-threshold' : null;
  const operations = block
    ? input.operations.map((o) => (o.kind === 'deactivate' ? { ...o, blocked: block } : o))
    : [...input.operations];
  const findings: Finding[] = [];
  if (safety.tripped) {
    findings.push({
      code: 'SAFETY_THRESHOLD',
      // Forced, it is a decision the admin took, not a problem left for them (FAIL_ON ignores it).
      severity: options.force ? 'warning' : 'error',
      subject: 'deactivations',
      message: options.force ? `${safety.message}; applied anyway because of --force` : `${safety.message}; no deactivation is applied this run`,
      advice: options.force ? 'nothing to do' : 'review the plan; if the deactivations are right, run once with --force or raise the threshold',
    });
  }
  if (!options.deactivate && deactivations > 0) {
    findings.push({
      code: 'DEACTIVATION_DISABLED',
      severity: 'info',
      subject: 'deactivations',
      message: `${deactivations} deactivation${deactivations === 1 ? ' is' : 's are'} planned but not applied (DEACTIVATE=false)`,
      advice: 'set DEACTIVATE=true once the rollout is trusted',
    });
  }
  return { operations, safety, findings };
}
