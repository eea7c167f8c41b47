import { callsOf, freshnessFigures, fullRunOf, MINUTE_S, shareOf } from './incremental-figures.ts';
import { fmt, int, oneLine, pct, table } from './markdown.ts';
import type { BenchResult, StepResult, WorkloadResult } from './result.ts';

/**
 * What the incremental and freshness workloads add to the report: whether each run asked to be
 * incremental was (its own log line says; a run that read everything is shown as such, with its
 * reason, and never counted as incremental), its requests as a share of a full run's, and for the
 * daemon, each change's time to Docker and what a one-minute schedule makes of it. Pure.
 */

/** One line per step that asked for an incremental run. */
export function incrementalNotes(steps: readonly StepResult[], r: BenchResult | null): string[] {
  return steps
    .filter((s) => s.mode !== undefined && s.error === undefined)
    .map((s) => {
      const label = `${s.source} ${int(s.users)}${s.variant ? ` (${s.variant})` : ''}`;
      const m = s.mode ?? null;
      const calls = callsOf(s);
      const full = r ? fullRunOf(r, s.source, s.users) : null;
      const share = shareOf(calls, full);
      const landed = s.changes ? ` ${s.changes.filter((c) => c.landed).length} of ${s.changes.length} changes in Docker's store after the run.` : '';
      if (m === null) return `${label}: **not counted as incremental**: its log said neither "incremental read" nor "reading everything"; ${int(calls)} requests.${landed}`;
      if (m.mode === 'full') return `${label}: **read everything, not incremental**: ${oneLine(m.reason)}; ${int(calls)} requests, a full run's, not an incremental one's.${landed}`;
      const of = full ? `${share === null ? 'n/a' : pct(calls, full.calls)} of a full run's (${int(full.calls)}, ${full.from})` : 'no full run of this size to compare with';
      return `${label}: incremental: ${int(m.users)} user${m.users === 1 ? '' : 's'} to reconcile (${int(m.feedEntries)} feed entries, ${int(m.named)} named), ${int(m.idpRequests)} IdP requests, ${int(m.dockerUsers)} Docker accounts looked up; ${int(calls)} requests in all, ${of}.${landed}`;
    });
}

const CHANGE_HEADER = ['source', 'users', 'change', 'made, s after the first run', 'to Docker, s', 'written by run', 'that run', 'its wall s', 'its requests'];

/** The freshness workload: one row per change, then what the figures mean. */
export function renderFreshness(w: WorkloadResult, r: BenchResult | null): string {
  const title = `### ${w.id}: ${w.title}`;
  const rows: string[][] = [];
  const notes: string[] = [];
  for (const s of w.steps) {
    const f = s.freshness;
    if (!f) {
      rows.push([s.source, int(s.users), `failed: ${oneLine(s.error ?? 'no figures')}`, '', '', '', '', '', '']);
      continue;
    }
    const full = r ? fullRunOf(r, s.source, s.users) : null;
    for (const c of f.changes) {
      const run = c.run === null ? undefined : f.runs[c.run];
      const mode = !run ? '' : run.mode?.mode === 'incremental' ? `incremental, ${int(run.mode.users)} users` : run.mode?.mode === 'full' ? `read everything: ${oneLine(run.mode.reason)}` : 'mode not logged';
      rows.push([
        s.source,
        int(s.users),
        `${c.kind}: ${c.userName}`,
        c.madeAtS === null ? 'not made' : fmt(c.madeAtS, 1),
        c.seconds === null ? 'never' : fmt(c.seconds, 1),
        c.run === null ? '' : `#${c.run + 1} of ${f.runs.length}`,
        mode,
        run?.wallS != null ? fmt(run.wallS, 2) : '',
        run ? `${int(run.calls)}${full ? ` (${pct(run.calls, full.calls)})` : ''}` : '',
      ]);
    }
    notes.push(freshnessSummary(s, r));
  }
  if (rows.length === 0) return `${title}\n\nNo step ran.`;
  return [title, table(CHANGE_HEADER, rows), notes.join('\n\n')].filter((x) => x !== '').join('\n\n');
}

/** What the measured figures say, and what a one-minute schedule makes of them. */
export function freshnessSummary(s: StepResult, r: BenchResult | null): string {
  const f = s.freshness;
  if (!f) return '';
  const full = r ? fullRunOf(r, s.source, s.users) : null;
  const x = freshnessFigures(f, full);
  const label = `${s.source}, ${int(s.users)} users, SCHEDULE="${f.schedule}" (a tick every ${fmt(f.gapS, 0)} s)`;
  const parts: string[] = [];
  if (s.error !== undefined) parts.push(`**${s.source}: the step failed: ${oneLine(s.error)}.**`);
  if (x.worstS === null) parts.push(`${label}: no change reached Docker.`);
  else
    parts.push(
      `${label}: measured from the change in the IdP to the Docker write that showed it, ${fmt(x.worstS, 1)} s at worst, median ${fmt(x.medianS as number, 1)} s, over ${f.changes.length - x.unseen} changes${x.unseen > 0 ? ` (${x.unseen} never arrived)` : ''}.`,
    );
  if (x.minuteWorstS !== null && x.runWallS !== null)
    parts.push(
      `That time is the wait for the next tick (at most the schedule's gap) plus the run. With SCHEDULE every minute, as in production: at most ${MINUTE_S} s + ${fmt(x.runWallS, 2)} s (the longest run that carried a change) = **${fmt(x.minuteWorstS, 1)} s**, about ${fmt(x.minuteMeanS as number, 1)} s on average.`,
    );
  if (x.fullReads.length > 0) parts.push(`**${x.fullReads.length} of the runs that carried a change read everything** (${[...new Set(x.fullReads.map(oneLine))].join('; ')}): this is not an incremental run's freshness.`);
  if (x.runCalls !== null) parts.push(`Those runs made ${int(x.runCalls)} requests at most${full && x.share !== null ? `, ${fmt(x.share * 100, 1)} % of a full run's (${int(full.calls)}, ${full.from})` : ''}.`);
  if (x.windowShare !== null)
    parts.push(
      x.windowShare <= 1
        ? `Each drew at most ${fmt(x.windowShare * 100, 0)} % of one window of its fullest rate budget, so the shortened clock did not shorten it.`
        : `One drew ${fmt(x.windowShare * 100, 0)} % of one window of a rate budget: at full scale it would wait for the next window, which the shortened clock makes shorter than it is, so the one-minute figure understates its time.`,
    );
  const cpu = f.runs.flatMap((run) => (run.cpuS === null ? [] : [run.cpuS]));
  parts.push(
    `The daemon made ${f.runs.length} runs (${f.runs.filter((run) => run.mode?.mode === 'incremental').length} incremental)${cpu.length > 0 ? `, ${fmt(Math.max(...cpu), 2)} s of CPU each at most` : ''}${s.cost ? `, peak RSS ${int(s.cost.maxRssMb)} MB` : ''}, and exited ${f.exitCode ?? 'on a signal'} after SIGTERM.`,
  );
  return parts.join(' ');
}
