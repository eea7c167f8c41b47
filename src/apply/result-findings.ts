import type { Finding } from '../model/finding.ts';
import type { Plan } from '../model/plan.ts';
import type { OperationResult } from '../model/result.ts';
import { seatFindings } from '../reconcile/seats.ts';
import { PATCH_REFUSED } from './executor.ts';

/**
 * What the results of an applied plan say as a whole, beyond each operation's line: Docker's seat
 * refusals, one finding per org, and a connection that refused PATCH on /Groups, once. The plan's
 * own findings were known before the apply; these only after it.
 */
export function resultFindings(plan: Plan, results: readonly OperationResult[]): Finding[] {
  const findings = seatFindings(plan, results);
  const refused = results.find((r) => r.status === 'skipped' && r.note?.startsWith(PATCH_REFUSED));
  if (refused) {
    const skipped = results.filter((r) => r.status === 'skipped' && r.note === refused.note).length;
    findings.push({
      code: 'TEAM_SYNC_UNAVAILABLE',
      severity: 'warning',
      subject: 'teams',
      message: `${refused.note}; ${skipped} team change${skipped === 1 ? ' was' : 's were'} skipped and will be planned again`,
      advice: 'Users were synced. If this Docker connection has no team sync through SCIM, set DOCKER_TEAM_SYNC=off; otherwise ask Docker support why PATCH /Groups is refused.',
    });
  }
  return findings;
}
