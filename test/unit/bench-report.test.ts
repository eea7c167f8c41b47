import { describe, expect, it } from 'vitest';
import { benchResultOf } from '../support/bench-result.ts';
import type { SystemCounts } from '../../bench/counts.ts';
import { replaceResults, RESULTS_END, RESULTS_START } from '../../bench/docs.ts';
import { runFloor } from '../../bench/floor.ts';
import { parseCost, type ProductCost } from '../../bench/measure.ts';
import { renderMarkdown, renderWorkload, targetRows } from '../../bench/report.ts';
import type { BenchResult, StepResult } from '../../bench/result.ts';

const cost = (cpuS: number, rssMb: number, planMs = 300): ProductCost => ({
  wallMs: { read: 1_000, plan: planMs, apply: 2_000 },
  cpuMs: { read: 800, plan: planMs, apply: cpuS * 1000 - 800 - planMs },
  processCpuMs: cpuS * 1000,
  maxRssMb: rssMb,
});

const docker = (reads: number, writes: number, throttled = 0): SystemCounts => ({
  system: 'docker',
  requests: reads + writes,
  reads,
  writes,
  calls: reads + writes,
  throttled,
  answered: reads + writes - throttled,
  byKind: {},
  used: { requests: reads + writes - throttled },
});

const okta = (requests: number): SystemCounts => ({ system: 'okta', requests, reads: requests, writes: 0, calls: requests, throttled: 0, answered: requests, byKind: {}, used: { apps: requests } });

function step(over: Partial<StepResult>): StepResult {
  return { workload: 'first-sync', source: 'okta', users: 10_000, paced: true, exitCode: 0, wallS: 104.4, cost: cost(10, 300), emulatorCpuS: 6.2, systems: [docker(51, 10_161), okta(71)], floor: null, ratio: null, ...over };
}

const pacedFloor = runFloor([{ system: 'docker', requests: 10_212, latencyMs: 20, concurrency: 4, buckets: [{ name: 'requests', used: 10_212, perWindow: 600, windowMs: 6_000 }] }]);

function result(steps: Record<string, StepResult[]>): BenchResult {
  return benchResultOf([
    { id: 'first-sync', title: 'First sync', steps: steps['first-sync'] ?? [] },
    { id: 'scale', title: 'Scale', steps: steps.scale ?? [] },
    { id: 'rerun', title: 'Re-run', steps: steps.rerun ?? [] },
    { id: 'freshness', title: 'Freshness', pending: 'needs incremental reads', steps: [] },
  ]);
}

describe('the results table', () => {
  it('shows wall, floor, ratio against the 1.15 target, requests, 429s, CPU by phase, RSS and emulator CPU', () => {
    const md = renderWorkload({ id: 'first-sync', title: 'First sync', steps: [step({ floor: pacedFloor, ratio: 104.4 / pacedFloor.floorS, systems: [docker(51, 10_161, 102), okta(71)] })] });
    const lines = md.split('\n');
    expect(lines[0]).toBe('### first-sync: First sync');
    expect(lines).toContain('| source | users | wall s (run) | floor s | ratio | bound by | Docker reads / writes | IdP requests | 429s | CPU read / plan / apply s | CPU total s | peak RSS MB | emulators CPU s (of a core) |');
    expect(lines).toContain('| okta | 10,000 | 104.4 (3.3) | 102.1 | 1.02 ✓ | docker requests | 51 / 10,161 | 71 | 102 (1.0 %) | 0.8 / 0.30 / 8.9 | 10.0 | 300 | 6.2 (6 %) |');
  });

  it('marks a ratio over the target, and a run without a floor as n/a', () => {
    const over = renderWorkload({ id: 'x', title: 'x', steps: [step({ floor: pacedFloor, ratio: 1.3 })] });
    expect(over).toContain('| 1.30 ✗ |');
    const none = renderWorkload({ id: 'x', title: 'x', steps: [step({ paced: false })] });
    expect(none).toContain('| okta | 10,000 | 104.4 (3.3) | n/a | n/a | n/a |');
  });

  it('says why a step failed instead of showing figures, and why a workload is not measured', () => {
    const md = renderMarkdown(result({ rerun: [step({ workload: 'rerun', error: 'the setup run failed: exit 1: boom |', cost: null, systems: [] })] }));
    expect(md).toContain('failed: the setup run failed: exit 1: boom \\|');
    expect(md).toContain('### freshness: Freshness\n\nNot measured yet: needs incremental reads.');
  });

  it('shows how CPU and RSS grow along the scale series', () => {
    const md = renderWorkload({
      id: 'scale',
      title: 'Scale',
      steps: [step({ users: 1_000, cost: cost(2, 200) }), step({ users: 10_000, cost: cost(10, 300) }), step({ users: 100_000, cost: cost(100, 390) })],
    });
    expect(md).toContain('okta: 1,000 → 10,000 users (×10): CPU ×5.0, map+plan CPU ×1.0, peak RSS ×1.5; 10,000 → 100,000 users (×10): CPU ×10.0, map+plan CPU ×1.0, peak RSS ×1.3.');
  });
});

describe('the targets', () => {
  it('are met or not from the measured figures, and unmeasured ones say so', () => {
    const rows = targetRows(
      result({
        'first-sync': [step({ floor: pacedFloor, ratio: 1.1 })],
        scale: [step({ workload: 'scale', users: 10_000, paced: false, cost: cost(10, 300) }), step({ workload: 'scale', users: 100_000, paced: false, cost: cost(150, 450, 1_200) })],
        rerun: [step({ workload: 'rerun', users: 100_000, cost: cost(1.5, 350), floor: pacedFloor, ratio: 1.2 })],
      }),
    );
    const met = Object.fromEntries(rows.map((r) => [r.target.split(' ').slice(0, 3).join(' '), r.met]));
    expect(met).toEqual({
      'peak RSS under': false, // 450 MB on the scale run
      'mapping + planning': false, // 1.2 s
      'a run with': true, // 1.5 s
      'cost grows linearly': false, // CPU ×15 for ×10 users
      'wall time within': false, // 1.2
      '429s under 1': true,
      'an IdP change': null,
    });
  });
});

describe('the docs section', () => {
  it('replaces only what lies between the markers', () => {
    const doc = `# Performance\n\nprose\n\n${RESULTS_START}\nold table\n${RESULTS_END}\n\nmore prose\n`;
    const out = replaceResults(doc, 'new table\n');
    expect(out).toBe(`# Performance\n\nprose\n\n${RESULTS_START}\n\nnew table\n\n${RESULTS_END}\n\nmore prose\n`);
    expect(replaceResults(out, 'new table')).toBe(out);
  });

  it('refuses a document without the markers rather than appending somewhere', () => {
    expect(() => replaceResults('# Performance\n', 'x')).toThrow(/needs the lines/);
  });
});

describe("the product's run cost line", () => {
  it('is read from its JSON log line', () => {
    const line = JSON.stringify({ level: 30, time: 1, msg: 'run cost', runId: 'r', cost: { wallMs: { read: 1, plan: 2, apply: 3 }, cpuMs: { read: 4, plan: 5, apply: 6 }, processCpuMs: 700, maxRssMb: 321 } });
    expect(parseCost(line)).toEqual({ wallMs: { read: 1, plan: 2, apply: 3 }, cpuMs: { read: 4, plan: 5, apply: 6 }, processCpuMs: 700, maxRssMb: 321 });
  });

  it('is not taken from another line, a pretty log, or one missing a figure', () => {
    expect(parseCost('{"msg":"run succeeded","cost":{}}')).toBeNull();
    expect(parseCost('[12:00:00] INFO: run cost')).toBeNull();
    expect(parseCost(JSON.stringify({ msg: 'run cost', cost: { wallMs: { read: 1, plan: 2, apply: 3 }, cpuMs: { read: 4, plan: 5 }, processCpuMs: 1, maxRssMb: 1 } }))).toBeNull();
  });
});
