import { existsSync } from 'node:fs';
import type { OperationKind } from '../model/plan.ts';
import { openState } from '../state/open.ts';
import type { InFlightWrite, Interruption } from '../state/in-flight.ts';
import type { RunRow, RunSummary } from '../state/store.ts';
import type { StateContext } from './context.ts';

/**
 * `status`: managed users, recent runs with their counts, and the journal of any run that stopped
 * with writes in flight (what the INTERRUPTED_RUN finding points to), from a private copy of the
 * state file. Needs only STATE_DB. Everything printed is scrubbed, JSON included: run errors were
 * scrubbed when stored, but a file written by an older version, or before a secret was rotated
 * into the configuration, may still hold one.
 */
export function statusCommand(ctx: StateContext, opts: { limit?: number; format?: 'text' | 'json' }): number {
  const path = ctx.config.state.db;
  const exists = existsSync(path);
  const state = openState({ path, dryRun: true, scrub: ctx.scrub });
  try {
    const runs = state.recentRuns(opts.limit ?? 10);
    const links = state.links();
    const managed = { total: links.length, active: links.filter((l) => l.applied.active).length, created: links.filter((l) => l.origin === 'created').length, adopted: links.filter((l) => l.origin === 'adopted').length };
    const interruptions = new Map(state.interruptions(runs.map((r) => r.id)).map((i) => [i.runId, i]));
    const feed = state.feedMark();
    const incremental = { cursor: feed.cursor !== null, lastFullRun: feed.fullAt, dockerListed: feed.verifiedAt, unfinished: feed.retry.length };
    if (opts.format === 'json') {
      const doc = { stateFile: path, source: state.getMeta('source'), managed, incremental, runs: runs.map((r) => ({ ...r, interruption: interruptions.get(r.id) ?? null })) };
      process.stdout.write(ctx.scrub(`${JSON.stringify(doc, null, 2)}\n`));
      return 0;
    }
    const out = [
      `State file: ${path}${exists ? '' : ' (does not exist yet: it appears after the first sync)'}`,
      `Bound to:   ${state.getMeta('source') ?? '(no run yet)'}`,
      `Managed:    ${managed.total} account${managed.total === 1 ? '' : 's'} (${managed.active} active; ${managed.created} created, ${managed.adopted} adopted)`,
      `Feed:       ${
        feed.cursor !== null
          ? `following the IdP's change feed; last full run ${feed.fullAt ?? '(unknown)'}, Docker last listed whole ${feed.verifiedAt ?? '(never)'}${feed.retry.length ? `; ${feed.retry.length} user${feed.retry.length === 1 ? '' : 's'} left unfinished, read again next run` : ''}`
          : 'no cursor: the next `daemon` run or `sync --incremental` reads everything and keeps one'
      }`,
      '',
      runs.length ? 'Recent runs' : 'No runs yet.',
    ];
    for (const r of runs) out.push(`  ${r.id}  ${r.status.padEnd(11)} ${r.startedAt}${runCounts(r, interruptions.get(r.id))}${r.error ? ` · ${r.error}` : ''}`);
    for (const r of runs) {
      const i = interruptions.get(r.id);
      if (i) out.push('', ...journalLines(r, i));
    }
    if (runs.length) out.push('', 'Reprint a run\'s report with `docker-idp-sync report --run <id>` (or `report --last`).');
    process.stdout.write(ctx.scrub(`${out.join('\n')}\n`));
    return 0;
  } finally {
    state.close();
  }
}

/** Past tense of each operation, as the counts read. */
const DONE: Record<OperationKind, string> = {
  'group-create': 'teams created',
  create: 'created',
  adopt: 'adopted',
  reactivate: 'reactivated',
  update: 'updated',
  'team-add': 'team additions',
  'team-remove': 'team removals',
  deactivate: 'deactivated',
};

function runCounts(r: RunRow, interruption: Interruption | undefined): string {
  const s = (r.summary ?? {}) as RunSummary;
  if (s.succeeded === undefined) {
    if (interruption) return ` · ${interruption.confirmed} ok, ${interruption.failed} failed, ${interruption.inFlight.length} in flight (journal below)`;
    return r.status === 'running' ? ' · in progress' : '';
  }
  const parts = [`${s.mode === 'incremental' ? 'incremental · ' : ''}${s.succeeded} ok, ${s.failed ?? 0} failed, ${s.blocked ?? 0} blocked${s.recovered ? `, ${s.recovered} recovered` : ''}`];
  if (s.applied) {
    const done = (Object.keys(DONE) as OperationKind[]).filter((k) => (s.applied?.[k] ?? 0) > 0).map((k) => `${DONE[k]} ${s.applied?.[k]}`);
    parts.push(done.length ? done.join(', ') : 'no changes');
  }
  const f = s.findings;
  if (f && (f.error || f.warning)) parts.push(`findings: ${f.error ?? 0} error${f.error === 1 ? '' : 's'}, ${f.warning ?? 0} warning${f.warning === 1 ? '' : 's'}`);
  return ` · ${parts.join(' · ')}`;
}

/** Writes listed before "… and N more": a kill leaves at most DOCKER_CONCURRENCY in flight, timeouts can leave more. */
const SHOWN = 20;

function journalLines(r: RunRow, i: Interruption): string[] {
  const stopped = r.status === 'running' ? 'is still marked running (in progress, or killed with no run since)' : r.status === 'interrupted' ? `was interrupted${r.finishedAt ? ` (found unfinished at ${r.finishedAt})` : ''}` : `ended ${r.status}`;
  const out = [
    `Journal of run ${r.id}: it ${stopped}; ${i.confirmed} write${i.confirmed === 1 ? '' : 's'} confirmed, ${i.failed} refused, ${i.inFlight.length} in flight without a clear answer`,
  ];
  const w = Math.max(0, ...i.inFlight.slice(0, SHOWN).map((x) => (x.userName ?? x.opId).length));
  for (const x of i.inFlight.slice(0, SHOWN)) out.push(`  ${x.kind.padEnd(12)} ${(x.userName ?? x.opId).padEnd(w)}  sent ${x.sentAt} · ${verdict(x)}`);
  if (i.inFlight.length > SHOWN) out.push(`  … and ${i.inFlight.length - SHOWN} more (status --format json lists them all)`);
  return out;
}

function verdict(x: InFlightWrite): string {
  const by = x.by ? ` by run ${x.by}` : '';
  if (x.outcome === 'recovered') return `recovered${by}: ${x.note ?? `it had reached Docker; linked to ${x.dockerId ?? 'the account with its userName'}`}`;
  if (x.outcome === 'abandoned') return `abandoned${by}: ${x.note ?? 'not confirmed; that run planned it again from what Docker held'}`;
  return 'not resolved yet: the next sync checks Docker for it';
}
