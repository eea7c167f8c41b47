import type { SafetyVerdict } from '../model/plan.ts';

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
