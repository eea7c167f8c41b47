import type { SystemCounts } from './counts.ts';
import { FLOOR_TARGET } from './floor.ts';
import type { BenchResult, StepResult, WorkloadResult } from './result.ts';

/**
 * The benchmark's results as Markdown: the settings, one table per workload, and the issue's
 * targets beside what was measured. Pure: a result in, text out (the terminal and
 * docs/performance.md show the same text).
 */

const HEADER = ['source', 'users', 'wall s (run)', 'floor s', 'ratio', 'bound by', 'Docker reads / writes', 'IdP requests', '429s', 'CPU read / plan / apply s', 'CPU total s', 'peak RSS MB', 'emulators CPU s (of a core)'];

export function renderMarkdown(r: BenchResult): string {
  const out: string[] = [];
  out.push(renderSettings(r));
  for (const w of r.workloads) out.push(renderWorkload(w));
  out.push(renderTargets(r));
  return `${out.join('\n\n')}\n`;
}

export function renderSettings(r: BenchResult): string {
  const s = r.settings;
  const minuteS = 60 / s.timeScale;
  const o = s.limits.oktaPerMinute;
  return [
    `Measured ${r.startedAt.slice(0, 16).replace('T', ' ')} UTC, Node ${r.machine.node}, ${r.machine.cpus} CPUs (${r.machine.platform}); sources: ${s.sources.join(', ')}.`,
    `Latency ${s.latencyMs} ms a request; time scale ${s.timeScale} (a rate-limit minute lasts ${fmt(minuteS, 1)} s); limits a minute: Docker ${s.limits.dockerPerMinute}, Okta /apps ${o.apps}, /groups ${o.groups}, /users ${o.users}; Graph ${int(s.limits.graphRuPer10s)} RU a 10 s; concurrency allowed: Docker ${s.concurrency.docker} (DOCKER_CONCURRENCY), Okta ${s.concurrency.okta}, Graph ${s.concurrency.graph}.`,
  ].join('\n');
}

export function renderWorkload(w: WorkloadResult): string {
  const title = `### ${w.id}: ${w.title}`;
  if (w.pending !== undefined) return `${title}\n\nNot measured yet: ${w.pending}.`;
  if (w.steps.length === 0) return `${title}\n\nNo step ran.`;
  const rows = w.steps.map(stepRow);
  const table = [row(HEADER), row(HEADER.map(() => '---')), ...rows.map(row)].join('\n');
  const notes = [...changeNotes(w.steps), ...growthNotes(w.steps)];
  return [title, table, ...(notes.length > 0 ? [notes.join('\n')] : [])].join('\n\n');
}

function stepRow(s: StepResult): string[] {
  if (s.error !== undefined) return [s.source, int(s.users), fmt(s.wallS, 1), `failed: ${oneLine(s.error)}`, ...HEADER.slice(4).map(() => '')];
  const docker = s.systems.find((c) => c.system === 'docker');
  const idp = s.systems.find((c) => c.system !== 'docker');
  const calls = s.systems.reduce((n, c) => n + c.calls, 0);
  const throttled = s.systems.reduce((n, c) => n + c.throttled, 0);
  const floor = s.floor && s.floor.floorS > 0 ? s.floor : null;
  const binding = floor ? floor.systems.find((x) => x.system === floor.binding) : undefined;
  const c = s.cost;
  return [
    s.source,
    int(s.users),
    c ? `${fmt(s.wallS, 1)} (${fmt((c.wallMs.read + c.wallMs.plan + c.wallMs.apply) / 1000, 1)})` : fmt(s.wallS, 1),
    floor ? fmt(floor.floorS, 1) : 'n/a',
    s.ratio !== null ? `${fmt(s.ratio, 2)} ${s.ratio <= FLOOR_TARGET ? '✓' : '✗'}` : 'n/a',
    binding ? `${binding.system} ${binding.bound === 'rate' ? (binding.bucket ?? 'rate') : 'latency'}` : 'n/a',
    docker ? `${int(docker.reads)} / ${int(docker.writes)}` : '',
    idp ? idpRequests(idp) : '',
    `${int(throttled)} (${pct(throttled, calls)})`,
    c ? `${fmt(c.cpuMs.read / 1000, 1)} / ${fmt(c.cpuMs.plan / 1000, 2)} / ${fmt(c.cpuMs.apply / 1000, 1)}` : 'no cost line',
    c ? fmt(c.processCpuMs / 1000, 1) : '',
    c ? int(c.maxRssMb) : '',
    // Their share of one core over the run: far below 100 % means they kept up.
    `${fmt(s.emulatorCpuS, 1)} (${s.wallS > 0 ? Math.round((s.emulatorCpuS / s.wallS) * 100) : 0} %)`,
  ];
}

/** Okta: requests; Graph: requests on the wire, the `$batch` items inside them, and resource units. */
function idpRequests(c: SystemCounts): string {
  if (c.system !== 'graph') return `${int(c.requests)}`;
  const items = c.calls - (c.requests - (c.byKind.batch ?? 0));
  const ru = c.used['resource units'] ?? 0;
  return items > 0 ? `${int(c.requests)} (${int(items)} in $batch, ${int(ru)} RU)` : `${int(c.requests)} (${int(ru)} RU)`;
}

function changeNotes(steps: readonly StepResult[]): string[] {
  return steps
    .filter((s) => s.change)
    .map((s) => {
      const c = s.change as NonNullable<StepResult['change']>;
      return `${s.source}: changed ${int(c.users)} users: ${c.renamed} renamed, ${c.roleChanged} new roles, ${c.unassigned} unassigned, ${c.joined} joined a team group, ${c.left} left one.`;
    });
}

/** For a series of sizes: how product CPU and peak RSS grew from one size to the next. */
export function growthNotes(steps: readonly StepResult[]): string[] {
  const out: string[] = [];
  for (const source of ['okta', 'entra'] as const) {
    const series = steps.filter((s) => s.source === source && s.cost).sort((a, b) => a.users - b.users);
    if (series.length < 2) continue;
    const parts: string[] = [];
    for (let i = 1; i < series.length; i++) {
      const a = series[i - 1] as StepResult;
      const b = series[i] as StepResult;
      const ca = a.cost as NonNullable<StepResult['cost']>;
      const cb = b.cost as NonNullable<StepResult['cost']>;
      parts.push(`${int(a.users)} → ${int(b.users)} users (×${fmt(b.users / a.users, 0)}): CPU ×${fmt(cb.processCpuMs / ca.processCpuMs, 1)}, map+plan CPU ×${fmt(cb.cpuMs.plan / Math.max(1, ca.cpuMs.plan), 1)}, peak RSS ×${fmt(cb.maxRssMb / ca.maxRssMb, 1)}`);
    }
    out.push(`${source}: ${parts.join('; ')}.`);
  }
  return out;
}

interface TargetRow {
  readonly target: string;
  readonly measured: string;
  readonly met: boolean | null;
}

/** The targets and what this run measured for each; null "met" where nothing measured it. */
export function targetRows(r: BenchResult): TargetRow[] {
  const steps = r.workloads.flatMap((w) => w.steps.map((s) => ({ ...s, workload: w.id }))).filter((s) => s.error === undefined);
  const big = Math.max(0, ...steps.map((s) => s.users));
  const atBig = steps.filter((s) => s.users === big && s.cost);
  const rows: TargetRow[] = [];
  const maxOf = (xs: number[]) => (xs.length > 0 ? Math.max(...xs) : null);

  const rss = maxOf(atBig.map((s) => (s.cost as NonNullable<StepResult['cost']>).maxRssMb));
  rows.push({ target: `peak RSS under 400 MB on every run at ${int(big)} users`, measured: rss === null ? 'not measured' : `${int(rss)} MB at most`, met: rss === null ? null : rss < 400 });
  const plan = maxOf(atBig.map((s) => (s.cost as NonNullable<StepResult['cost']>).cpuMs.plan));
  rows.push({ target: `mapping + planning under 1 s of CPU at ${int(big)} users`, measured: plan === null ? 'not measured' : `${fmt(plan / 1000, 2)} s at most`, met: plan === null ? null : plan < 1000 });
  const idle = maxOf(atBig.filter((s) => s.workload === 'rerun').map((s) => (s.cost as NonNullable<StepResult['cost']>).processCpuMs));
  rows.push({ target: `a run with nothing to do under 2 s of CPU at ${int(big)} users`, measured: idle === null ? 'not measured' : `${fmt(idle / 1000, 1)} s at most`, met: idle === null ? null : idle < 2000 });

  const growth = linearity(steps.filter((s) => s.workload === 'scale'));
  rows.push({ target: 'cost grows linearly with users (CPU and RSS grow no faster than users)', measured: growth.text, met: growth.met });

  const paced = steps.filter((s) => s.ratio !== null);
  const worst = maxOf(paced.map((s) => s.ratio as number));
  rows.push({ target: `wall time within ${FLOOR_TARGET} × the floor on every paced workload`, measured: worst === null ? 'not measured' : `${fmt(worst, 2)} at worst`, met: worst === null ? null : worst <= FLOOR_TARGET });
  const share = maxOf(
    paced.flatMap((s) => s.systems.filter((c) => c.calls > 0).map((c) => c.throttled / c.calls)),
  );
  rows.push({ target: '429s under 1 % of requests, per system', measured: share === null ? 'not measured' : `${fmt(share * 100, 2)} % at worst`, met: share === null ? null : share < 0.01 });
  rows.push({ target: 'an IdP change reaches Docker within 2 minutes at 100,000 users, with under 5 % of a full run\'s requests', measured: 'not measured yet: needs incremental reads', met: null });
  return rows;
}

/**
 * Linear when, between consecutive sizes, CPU and peak RSS grow by no more than the users do
 * (with 20 % room for noise): fixed costs (Node starting, modules loading) only make it look better.
 */
function linearity(steps: readonly StepResult[]): { text: string; met: boolean | null } {
  let worst = 0;
  let pairs = 0;
  for (const source of ['okta', 'entra'] as const) {
    const series = steps.filter((s) => s.source === source && s.cost).sort((a, b) => a.users - b.users);
    for (let i = 1; i < series.length; i++) {
      const a = series[i - 1] as StepResult;
      const b = series[i] as StepResult;
      const ca = a.cost as NonNullable<StepResult['cost']>;
      const cb = b.cost as NonNullable<StepResult['cost']>;
      const users = b.users / a.users;
      worst = Math.max(worst, cb.processCpuMs / ca.processCpuMs / users, cb.maxRssMb / ca.maxRssMb / users);
      pairs++;
    }
  }
  if (pairs === 0) return { text: 'not measured', met: null };
  return { text: `growth ÷ users growth: ${fmt(worst, 2)} at worst`, met: worst <= 1.2 };
}

export function renderTargets(r: BenchResult): string {
  const rows = targetRows(r);
  return ['### Targets (issue 15)', [row(['target', 'measured', 'met']), row(['---', '---', '---']), ...rows.map((t) => row([t.target, t.measured, t.met === null ? '–' : t.met ? 'yes' : 'no']))].join('\n')].join('\n\n');
}

function row(cells: readonly string[]): string {
  return `| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`;
}

function oneLine(s: string): string {
  return s.replace(/\s+/g, ' ').slice(0, 200);
}

export function int(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

export function fmt(n: number, digits: number): string {
  return n.toFixed(digits);
}

export function pct(part: number, whole: number): string {
  return whole > 0 ? `${((part / whole) * 100).toFixed(1)} %` : '0.0 %';
}
