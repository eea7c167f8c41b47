import type { Finding } from '../model/finding.ts';
import type { Operation, Plan } from '../model/plan.ts';
import type { OperationResult } from '../model/result.ts';

/**
 * Seats: what a plan will take from each organization, and what Docker's seat refusals add up
 * to. Pure: the plan's operations and the run's results in, lines and findings out.
 *
 * Whether `active:false` frees a seat at once is not documented (docker-scim.md §9, a gap), and the
 * executor runs deactivations last, after every create and reactivation. So the figure an admin
 * must have free before the run is the peak (creates + reactivations + moves in), and the net,
 * after deactivations and moves out, is what the run leaves if Docker frees seats as it goes.
 */

export interface SeatLine {
  readonly org: string;
  readonly creates: number;
  readonly reactivations: number;
  /** Active accounts this plan moves into the org from another. */
  readonly movesIn: number;
  readonly movesOut: number;
  readonly deactivations: number;
  /** Seats the run needs free at most: deactivations come last and may free nothing. */
  readonly peak: number;
  /** peak − deactivations − moves out. */
  readonly net: number;
}

interface Tally {
  creates: number;
  reactivations: number;
  movesIn: number;
  movesOut: number;
  deactivations: number;
}

/** Per org, in org order; orgs the plan does not touch are left out. Blocked operations take and free nothing. */
export function seatUse(operations: readonly Operation[]): SeatLine[] {
  const byOrg = new Map<string, Tally>();
  const tally = (org: string): Tally => {
    let t = byOrg.get(org);
    if (!t) byOrg.set(org, (t = { creates: 0, reactivations: 0, movesIn: 0, movesOut: 0, deactivations: 0 }));
    return t;
  };
  for (const op of operations) {
    if (op.blocked) continue;
    if (op.kind === 'create') {
      tally(op.target.org).creates += 1;
      continue;
    }
    if (op.kind !== 'adopt' && op.kind !== 'update' && op.kind !== 'reactivate' && op.kind !== 'deactivate') continue;
    const active = op.changes.find((c) => c.field === 'active');
    const org = op.changes.find((c) => c.field === 'org');
    const from = typeof org?.before === 'string' ? org.before : null;
    if (op.kind === 'deactivate') {
      // The seat is freed in the org the account is in now.
      tally(from ?? op.target.org).deactivations += 1;
    } else if (active?.after === true) {
      // An inactive account holds no seat, wherever it was: it takes one in its new org.
      tally(op.target.org).reactivations += 1;
    } else if (org && from !== null && from !== op.target.org) {
      tally(op.target.org).movesIn += 1;
      tally(from).movesOut += 1;
    }
  }
  return [...byOrg.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([org, t]) => {
      const peak = t.creates + t.reactivations + t.movesIn;
      return { org, ...t, peak, net: peak - t.deactivations - t.movesOut };
    });
}

/** "acme: up to +3 (2 creates, 1 reactivation), then −1 (1 deactivation); net +2". */
export function seatLineText(s: SeatLine): string {
  const part = (n: number, word: string) => (n > 0 ? [`${n} ${word}${n === 1 ? '' : 's'}`] : []);
  const takes = [...part(s.creates, 'create'), ...part(s.reactivations, 'reactivation'), ...part(s.movesIn, 'move in')];
  const frees = [...part(s.deactivations, 'deactivation'), ...part(s.movesOut, 'move out')];
  const freed = s.deactivations + s.movesOut;
  const sign = (n: number) => (n > 0 ? `+${n}` : n < 0 ? `−${-n}` : '0');
  return [
    `${s.org}: ${takes.length ? `up to +${s.peak} (${takes.join(', ')})` : 'takes none'}`,
    ...(frees.length ? [`${takes.length ? 'then ' : ''}−${freed} (${frees.join(', ')})`] : []),
    `net ${sign(s.net)}`,
  ].join(', ');
}

/** Docker's seat error names the org (troubleshoot-sso.md): "Not enough seats in organization 'acme'". */
const SEATS_ORG = /organization '([^']*)'/i;

/**
 * One finding per org whose seats ran out, instead of a failed line per account: the admin buys
 * seats once, for the number that failed. The org comes from Docker's message, else the plan.
 */
export function seatFindings(plan: Plan, results: readonly OperationResult[]): Finding[] {
  const failed = results.filter((r) => r.status === 'failed' && r.error?.code === 'DOCKER_SEATS');
  if (failed.length === 0) return [];
  const ops = new Map(plan.operations.map((op) => [op.id, op]));
  const byOrg = new Map<string, string[]>();
  for (const r of failed) {
    const op = ops.get(r.opId);
    const said = SEATS_ORG.exec(`${r.error?.detail ?? ''} ${r.error?.message ?? ''}`)?.[1];
    const org = said ?? (op && 'target' in op ? op.target.org : 'unknown');
    const list = byOrg.get(org) ?? [];
    list.push(r.subject);
    byOrg.set(org, list);
  }
  return [...byOrg.entries()].map(([org, subjects]) => {
    const n = subjects.length;
    const shown = subjects.slice(0, 5).join(', ') + (n > 5 ? ` and ${n - 5} more` : '');
    return {
      code: 'SEATS_EXHAUSTED',
      severity: 'error',
      subject: org,
      message: `${n} account${n === 1 ? '' : 's'} could not be created or reactivated in ${org}: Docker says the organization has no free seat (${shown})`,
      advice: `Buy at least ${n} more seat${n === 1 ? '' : 's'} for ${org}, or free seats by removing members or pending invitations in Docker Admin Console → Members; the next run retries ${n === 1 ? 'it' : 'them'}.`,
    };
  });
}
