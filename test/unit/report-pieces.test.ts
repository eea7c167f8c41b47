import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { writeReport } from '../../src/commands/output.ts';
import { scrubber } from '../../src/logging/scrub.ts';
import type { Plan } from '../../src/model/plan.ts';
import type { RunResult } from '../../src/model/result.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { renderReport, reportPieces, REPORT_FORMATS, type ReportInput } from '../../src/report/index.ts';
import { createOp, desired, dockerUser, group, link, synced } from '../support/builders.ts';

/**
 * Reports are made and written in pieces, one operation each, so the report of a first sync of
 * 100,000 users is never one 28 MB string (twice that in memory) beside the run's plan. The pieces
 * must make exactly the report the renderers always made.
 */

const at = '2026-01-01T00:00:01.000Z';
const SECRET = 'ssws-00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789';

const jane = desired({ idpId: 'u1', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
const pipe = desired({ idpId: 'u2', userName: 'pipe@example.com', givenName: 'A|B', familyName: '<script>', teams: ['acme:everyone', 'acme:web'] });
const gone = desired({ idpId: 'u3', userName: 'gone@example.com' });
const plan = buildPlan({
  source: 'okta',
  idpUsers: 2,
  desired: { users: [jane, pipe], held: [], deprovisioned: [], findings: [] },
  links: [link({ ...jane, familyName: 'Old' }, 'd1'), link(gone, 'd3')],
  observed: {
    users: [{ ...synced(jane, 'd1'), familyName: 'Old' }, synced(gone, 'd3'), dockerUser({ id: 'm1', userName: 'manual@example.com' })],
    groups: [group('acme:everyone', ['d1', 'd3', 'm1']), group('acme:web', [])],
  },
  options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false },
});

function resultOf(p: Plan): RunResult {
  const results = p.operations.map((op, i) =>
    i % 2 === 0
      ? { opId: op.id, kind: op.kind, subject: 'x', status: 'failed' as const, error: { code: 'DOCKER_SEATS', message: "Not enough seats in organization 'acme'" } }
      : { opId: op.id, kind: op.kind, subject: 'x', status: 'succeeded' as const, note: `note ${i}` },
  );
  return { runId: 'r1', dryRun: false, status: 'partial', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: at, plan: p, recovered: ['a@example.com'], results };
}

/** A plan of `n` creates, every tenth with a secret in its reason (one leaked into an IdP value, say). */
function bigPlan(n: number): Plan {
  const operations = Array.from({ length: n }, (_, i) => ({ ...createOp(i + 1), reason: i % 10 === 0 ? `assigned; the IdP said ${SECRET}` : 'assigned to the Docker app in Okta; no Docker account has this userName' }));
  return { ...plan, operations, findings: [] };
}

const inputs: Array<[string, ReportInput]> = [
  ['a plan', { plan, generatedAt: at, dryRun: true }],
  ['a run', { plan, result: resultOf(plan), generatedAt: at, dryRun: false }],
  ['an empty plan', { plan: { ...plan, operations: [], findings: [] }, generatedAt: at, dryRun: true }],
];

afterEach(() => {
  vi.restoreAllMocks();
});

describe('reports in pieces', () => {
  it('the pieces of each format make the report, one piece an operation at least', () => {
    for (const [, input] of inputs) {
      for (const format of REPORT_FORMATS) {
        const pieces = [...reportPieces(format, input)];
        expect(pieces.join('')).toBe(renderReport(format, input));
        expect(pieces.length).toBeGreaterThanOrEqual(input.plan.operations.length);
      }
    }
  });

  it('an operation with no line to show (a team change with no member left) makes no row, not an empty line', () => {
    const empty = { id: 'team-add:acme:ops', kind: 'team-add' as const, group: 'acme:ops', groupId: 'g9', members: [], reason: 'nobody' };
    const text = renderReport('text', { plan: { ...plan, operations: [plan.operations[0]!, empty, plan.operations[1]!] }, generatedAt: at, dryRun: true });
    const rows = text.slice(text.indexOf('Operations\n'), text.indexOf('\nFindings'));
    expect(rows).not.toContain('\n\n');
    expect(rows).not.toContain('acme:ops');
  });

  it('the JSON report is byte for byte what JSON.stringify(doc, null, 2) makes of it', () => {
    for (const [, input] of inputs) {
      const text = renderReport('json', input);
      expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    }
    const doc = JSON.parse(renderReport('json', inputs[1]![1]));
    expect(Object.keys(doc)).toEqual(['format', 'version', 'toolVersion', 'kind', 'generatedAt', 'dryRun', 'source', 'runId', 'status', 'coverage', 'counts', 'safety', 'seats', 'recovered', 'operations', 'findings', 'resultFindings']);
    expect(doc.operations.map((o: { result: { status: string } }) => o.result.status)).toEqual(['failed', 'succeeded', 'failed', 'succeeded']);
  });

  it('results in another order than the plan (a stored run, a partial one) still land on their own rows', () => {
    const inOrder = resultOf(plan);
    const shuffled = { ...inOrder, results: [...inOrder.results].reverse() };
    for (const format of REPORT_FORMATS) {
      expect(renderReport(format, { plan, result: shuffled, generatedAt: at, dryRun: false })).toBe(renderReport(format, { plan, result: inOrder, generatedAt: at, dryRun: false }));
    }
    // A result missing for some row: that row says so, the others keep theirs.
    const missing = { ...inOrder, results: inOrder.results.slice(1) };
    const text = renderReport('text', { plan, result: missing, generatedAt: at, dryRun: false });
    expect(text.match(/FAILED: Not enough seats/g)).toHaveLength(1);
    expect(text).toContain('planned');
  });
});

describe('writing a report', () => {
  const big: ReportInput = { plan: bigPlan(3_000), generatedAt: at, dryRun: true };
  const scrub = scrubber([SECRET]);

  it('goes to stdout in batches as it is made, each scrubbed, never the whole report at once', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return true;
    });
    await writeReport(reportPieces('text', big), undefined, scrub);
    const whole = renderReport('text', big);
    expect(whole.length).toBeGreaterThan(4 * 64 * 1024);
    expect(writes.length).toBeGreaterThan(4);
    expect(Math.max(...writes.map((w) => w.length))).toBeLessThan(64 * 1024 + 1024);
    expect(writes.join('')).toBe(scrub(whole));
    expect(writes.join('')).not.toContain(SECRET);
    expect(writes.join('').split('[redacted]').length - 1).toBe(300);
  });

  it('waits for a slow reader: no more is written until stdout has drained', async () => {
    const writes: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      writes.push(String(chunk));
      return false; // the pipe is full: what was given is queued
    });
    const listening = () => ['drain', 'error', 'close'].map((e) => process.stdout.listenerCount(e));
    const before = listening();
    const done = writeReport(reportPieces('text', big), undefined, scrub);
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(1);
    process.stdout.emit('drain');
    await new Promise((r) => setImmediate(r));
    expect(writes).toHaveLength(2);
    // A reader that went away fails the write instead of leaving it waiting for ever.
    const epipe = Object.assign(new Error('write EPIPE'), { code: 'EPIPE' });
    process.stdout.emit('error', epipe);
    await expect(done).rejects.toBe(epipe);
    // And it leaves no listener behind on stdout.
    expect(listening()).toEqual(before);
  });

  it('goes to an --output file the same, scrubbed', async () => {
    const file = join(mkdtempSync(join(tmpdir(), 'report-')), 'report.json');
    await writeReport(reportPieces('json', big), file, scrub);
    const text = readFileSync(file, 'utf8');
    expect(text).toBe(scrub(renderReport('json', big)));
    expect(JSON.parse(text).operations).toHaveLength(3_000);
  });
});
