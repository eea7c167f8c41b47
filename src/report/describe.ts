import type { Finding } from '../model/finding.ts';
import { formatValue, type Change, type Operation, type Plan } from '../model/plan.ts';
import type { OperationResult, RunResult } from '../model/result.ts';
import { seatLineText, seatUse } from '../reconcile/seats.ts';
import { TOOL_VERSION } from '../version.ts';

/**
 * The words shared by every report format: one line per change, the counts, the safety verdict.
 * Renderers only lay them out.
 */

export interface ReportInput {
  readonly plan: Plan;
  /** Present once the plan has been applied. */
  readonly result?: RunResult;
  readonly generatedAt: string;
  readonly dryRun: boolean;
  /**
   * The version of docker-idp-sync that made the plan: this one unless given. A run reprinted from
   * the state file names the version that ran it, or null when it was stored before runs kept it.
   */
  readonly toolVersion?: string | null;
}

/** The version a report names (see ReportInput.toolVersion). */
export function toolVersionOf(input: ReportInput): string | null {
  return input.toolVersion === undefined ? TOOL_VERSION : input.toolVersion;
}

export function changeLine(c: Change): string {
  return `${c.field}: ${formatValue(c.before)} → ${formatValue(c.after)}${c.drift ? ' (drift)' : ''}`;
}

const MEMBERS_SHOWN = 5;

/** The "before → after" cell of an operation, as lines. */
export function changeLines(op: Operation): string[] {
  switch (op.kind) {
    case 'create': {
      const t = op.target;
      const name = [t.givenName, t.familyName].filter(Boolean).join(' ');
      return [`new account${name ? ` "${name}"` : ''}`, `role ${t.role}, org ${t.org}${t.team ? `, team ${t.team}` : ''}`];
    }
    case 'group-create':
      return [`new team ${op.group}`];
    case 'team-add':
    case 'team-remove': {
      const sign = op.kind === 'team-add' ? '+' : '−';
      const names = op.members.slice(0, MEMBERS_SHOWN).map((m) => `${sign} ${m.userName}`);
      if (op.members.length > MEMBERS_SHOWN) names.push(`… and ${op.members.length - MEMBERS_SHOWN} more`);
      return names;
    }
    default:
      return op.changes.length ? op.changes.map(changeLine) : ['(link only, no change)'];
  }
}

/**
 * The result of the plan's operation `index`. Results come in the plan's order (the executor's,
 * and the partial ones of a failed run), so a row's result is the one at its own index; a map by
 * id, 100,000 entries on a first sync, is built only for results that came in another order.
 */
export function resultLookup(result: RunResult | undefined): (op: Operation, index: number) => OperationResult | undefined {
  if (!result) return () => undefined;
  const results = result.results;
  let byId: Map<string, OperationResult> | undefined;
  return (op, index) => {
    const same = results[index];
    if (same?.opId === op.id) return same;
    byId ??= new Map(results.map((r) => [r.opId, r]));
    return byId.get(op.id);
  };
}

export function statusText(r: OperationResult | undefined, op: Operation): string {
  if (!r) return op.blocked ? `blocked (${op.blocked})` : 'planned';
  if (r.status === 'failed') return `FAILED: ${r.error?.message ?? 'unknown error'}`;
  if (r.status === 'blocked') return `blocked (${r.note ?? op.blocked ?? ''})`;
  return r.note ? `${r.status} (${r.note})` : r.status;
}

export function countsLines(input: ReportInput): string[] {
  const { plan, result } = input;
  const c = plan.counts;
  const ops = Object.entries(c.operations)
    .filter(([, n]) => n > 0)
    .map(([k, n]) => `${k} ${n}`);
  const cov = plan.coverage;
  const lines = [
    ...(cov?.mode === 'incremental'
      ? [
          cov.targeted
            ? `Targeted run: ${cov.targeted.join(', ')} (${cov.users} IdP user${cov.users === 1 ? '' : 's'}), read afresh; everyone else stands as the last run left them, and the change feed was not moved`
            : `Incremental run: ${cov.users} IdP user${cov.users === 1 ? '' : 's'} named by the change feed${cov.dockerListed ? ' or drifted in Docker' : ''}, read afresh; everyone else stands as the last run left them`,
          `IdP users read ${c.idpUsers} (active ${c.desiredActive}) · Docker accounts ${cov.dockerListed ? 'listed' : 'looked up'} ${c.dockerUsers} · managed by this tool ${c.managed}`,
        ]
      : [
          ...(cov?.reason ? [`Full run (${cov.reason})`] : []),
          `IdP users ${c.idpUsers} (active ${c.desiredActive}) · Docker accounts ${c.dockerUsers} · managed by this tool ${c.managed}`,
        ]),
    `Operations: ${ops.length ? ops.join(' · ') : 'none'}${c.blocked ? ` (blocked ${c.blocked})` : ''}`,
    ...seatUse(plan.operations).map((s) => `Seats ${seatLineText(s)}`),
    `Findings: ${c.findings.error} error${c.findings.error === 1 ? '' : 's'} · ${c.findings.warning} warning${c.findings.warning === 1 ? '' : 's'} · ${c.findings.info} info`,
    `Safety: ${safetyLine(plan)}`,
  ];
  if (result) {
    const by: Record<OperationResult['status'], number> = { succeeded: 0, failed: 0, blocked: 0, skipped: 0 };
    for (const r of result.results) by[r.status] += 1;
    lines.push(`Result: ${result.status} · succeeded ${by.succeeded} · failed ${by.failed} · blocked ${by.blocked} · skipped ${by.skipped}`);
    if (result.recovered.length) lines.push(`Recovered from an interrupted run: ${result.recovered.join(', ')}`);
  }
  return lines;
}

/** The plan's findings, then what the results said once applied (seats run out, PATCH refused). */
export function allFindings(input: ReportInput): readonly Finding[] {
  const after = input.result?.findings;
  return after?.length ? [...input.plan.findings, ...after] : input.plan.findings;
}

export function safetyLine(plan: Plan): string {
  const s = plan.safety;
  const limits = `limits ${s.maxDeactivations} users / ${s.maxDeactivationPercent}%`;
  if (s.tripped && !s.forced) return `HELD — ${s.message}`;
  if (s.tripped && s.forced) return `forced — ${s.message}`;
  if (s.deactivationDisabled && s.deactivations > 0) return `${s.deactivations} deactivation(s) planned, not applied (DEACTIVATE=false)`;
  return `ok — ${s.deactivations} deactivation${s.deactivations === 1 ? '' : 's'} of ${s.managedUsers} managed (${limits})`;
}

export function title(input: ReportInput): string {
  const what = input.result ? (input.dryRun ? 'dry run' : 'run') : input.dryRun ? 'dry run (nothing applied)' : 'plan';
  const run = input.result && !input.dryRun ? ` ${input.result.runId}` : '';
  const version = toolVersionOf(input) ?? '(version unknown)';
  return `docker-idp-sync ${version} · ${what}${run} · source ${input.plan.source} · ${input.generatedAt}`;
}
