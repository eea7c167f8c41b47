import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { DesiredState } from '../../src/model/desired.ts';
import type { RunResult } from '../../src/model/result.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { renderReport } from '../../src/report/index.ts';
import { TOOL_VERSION } from '../../src/version.ts';
import { desired, dockerUser, group, link, synced } from '../support/builders.ts';

const jane = desired({ idpId: 'u1', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
// In an org:team group as well as the default team: the create places them in the default team,
// the plan adds them to the other.
const pipe = desired({ idpId: 'u2', userName: 'pipe@example.com', givenName: 'A|B', familyName: '<script>', teams: ['acme:everyone', 'acme:web'] });
const gone = desired({ idpId: 'u3', userName: 'gone@example.com' });
const d: DesiredState = { users: [jane, pipe], held: [], deprovisioned: [], findings: [] };
const plan = buildPlan({
  source: 'okta',
  idpUsers: 2,
  desired: d,
  links: [link({ ...jane, familyName: 'Old' }, 'd1'), link(gone, 'd3')],
  observed: {
    users: [{ ...synced(jane, 'd1'), familyName: 'Old' }, synced(gone, 'd3'), dockerUser({ id: 'm1', userName: 'manual@example.com' })],
    groups: [group('acme:everyone', ['d1', 'd3', 'm1']), group('acme:web', [])],
  },
  options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false },
});
const result: RunResult = {
  runId: 'r1',
  dryRun: false,
  status: 'partial',
  startedAt: '2026-01-01T00:00:00.000Z',
  finishedAt: '2026-01-01T00:00:01.000Z',
  plan,
  recovered: [],
  results: plan.operations.map((op) =>
    op.kind === 'create'
      ? { opId: op.id, kind: op.kind, subject: 'pipe@example.com', status: 'failed', error: { code: 'DOCKER_SEATS', message: "Not enough seats in organization 'acme'" } }
      : { opId: op.id, kind: op.kind, subject: 'x', status: 'succeeded' },
  ),
};
const at = '2026-01-01T00:00:01.000Z';

describe('reports', () => {
  it('the plan under test has one of each interesting row', () => {
    expect(plan.operations.map((o) => o.kind)).toEqual(['create', 'update', 'team-add', 'deactivate']);
  });

  it('text: counts first, then one row per operation with before → after and reason, then findings', () => {
    const text = renderReport('text', { plan, generatedAt: at, dryRun: true });
    const iSummary = text.indexOf('Summary');
    const iOps = text.indexOf('Operations\n');
    const iFindings = text.indexOf('Findings\n');
    expect(iSummary).toBeGreaterThan(0);
    expect(iSummary).toBeLessThan(iOps);
    expect(iOps).toBeLessThan(iFindings);
    expect(text).toContain('Operations: create 1 · update 1 · team-add 1 · deactivate 1');
    expect(text).toMatch(/update\s+jane@example.com\s+familyName: "Old" → "Doe"\s+changed in Okta: familyName/);
    expect(text).toMatch(/deactivate\s+gone@example.com\s+active: true → false\s+no longer assigned/);
    expect(text).toMatch(/WARNING UNMANAGED_ACCOUNT\s+manual@example.com/);
    expect(text).toContain('dry run (nothing applied)');
  });

  it('text with a result shows each operation outcome and the failure message', () => {
    const text = renderReport('text', { plan, result, generatedAt: at, dryRun: false });
    expect(text).toContain('Result: partial · succeeded 3 · failed 1');
    expect(text).toContain("FAILED: Not enough seats in organization 'acme'");
  });

  it('markdown escapes what would break a table or become HTML', () => {
    const md = renderReport('markdown', { plan, result, generatedAt: at, dryRun: false });
    expect(md).toContain('| # | Operation | Subject | Change | Result | Reason |');
    expect(md).toContain('A\\|B');
    expect(md).toContain('&lt;script&gt;');
    expect(md).not.toContain('<script>');
    for (const row of md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| #') && !l.startsWith('| Severity'))) {
      expect(row.replace(/\\\|/g, '').split('|').length, row).toBeGreaterThanOrEqual(7);
    }
  });

  it('JSON has the documented, versioned shape', () => {
    const doc = JSON.parse(renderReport('json', { plan, result, generatedAt: at, dryRun: false }));
    expect(Object.keys(doc)).toEqual(['format', 'version', 'toolVersion', 'kind', 'generatedAt', 'dryRun', 'source', 'runId', 'status', 'coverage', 'counts', 'safety', 'seats', 'recovered', 'operations', 'findings', 'resultFindings']);
    expect(doc).toMatchObject({ format: 'docker-idp-sync/report', version: 1, toolVersion: TOOL_VERSION, kind: 'result', runId: 'r1', status: 'partial' });
    expect(doc.operations[0]).toMatchObject({ id: 'create:u2', kind: 'create', userName: 'pipe@example.com', result: { status: 'failed', error: { code: 'DOCKER_SEATS' } } });
    expect(doc.operations[1].changes).toEqual([{ field: 'familyName', before: 'Old', after: 'Doe' }]);
    const dry = JSON.parse(renderReport('json', { plan, generatedAt: at, dryRun: true }));
    expect(dry).toMatchObject({ kind: 'plan', runId: null, status: null });
    expect(dry).not.toHaveProperty('resultFindings');
    expect(dry.operations.every((o: { result: unknown }) => o.result === null)).toBe(true);
  });

  it('every format names the tool version beside the format version: the package.json version, or the one a stored run names', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    expect(TOOL_VERSION).toBe(pkg.version);
    expect(renderReport('text', { plan, result, generatedAt: at, dryRun: false }).split('\n')[0]).toBe(`docker-idp-sync ${pkg.version} · run r1 · source okta · ${at}`);
    expect(renderReport('markdown', { plan, generatedAt: at, dryRun: true }).split('\n')[0]).toBe(`# docker-idp-sync ${pkg.version} · dry run (nothing applied) · source okta · ${at}`);
    // A run reprinted from the state file names the version that ran it, or says it is unknown.
    expect(renderReport('text', { plan, result, generatedAt: at, dryRun: false, toolVersion: '0.0.9' }).split('\n')[0]).toContain('docker-idp-sync 0.0.9 · run r1');
    expect(JSON.parse(renderReport('json', { plan, result, generatedAt: at, dryRun: false, toolVersion: '0.0.9' })).toolVersion).toBe('0.0.9');
    expect(renderReport('text', { plan, result, generatedAt: at, dryRun: false, toolVersion: null }).split('\n')[0]).toContain('docker-idp-sync (version unknown) · run r1');
    expect(JSON.parse(renderReport('json', { plan, result, generatedAt: at, dryRun: false, toolVersion: null })).toolVersion).toBeNull();
  });

  it('an empty plan says there is nothing to do', () => {
    const empty = buildPlan({ source: 'okta', idpUsers: 0, desired: { users: [], held: [], deprovisioned: [], findings: [] }, links: [], observed: { users: [], groups: [] }, options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 10, force: false } });
    expect(renderReport('text', { plan: empty, generatedAt: at, dryRun: true })).toContain('Operations: none — Docker already matches the IdP.');
    expect(renderReport('markdown', { plan: empty, generatedAt: at, dryRun: true })).toContain('None: Docker already matches the IdP.');
  });
});

describe('reports at scale', () => {
  it('render a plan of 100,000 operations (once: the text report overflowed the call stack)', () => {
    const many = Array.from({ length: 100_000 }, (_, i) => desired({ idpId: `u${i}`, userName: `user${i}@example.com`, teams: [] }));
    const big = buildPlan({
      source: 'okta',
      idpUsers: many.length,
      desired: { users: many, held: [], deprovisioned: [], findings: [] },
      links: [],
      observed: { users: [], groups: [] },
      options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 10, force: false },
    });
    const done: RunResult = { ...result, plan: big, results: big.operations.map((op) => ({ opId: op.id, kind: op.kind, subject: 'x', status: 'succeeded' as const })) };
    for (const format of ['text', 'markdown'] as const) {
      const text = renderReport(format, { plan: big, result: done, generatedAt: at, dryRun: false });
      expect(text).toContain('user99999@example.com');
    }
  });
});
