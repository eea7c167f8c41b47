import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { scrubber } from '../../src/logging/scrub.ts';
import type { Plan } from '../../src/model/plan.ts';
import type { RunResult } from '../../src/model/result.ts';
import { packJson } from '../../src/state/packed-json.ts';
import { openState } from '../../src/state/open.ts';
import { createOp } from '../support/builders.ts';

/**
 * A run's result is stored as gzip-compressed JSON made in pieces (state/packed-json.ts), so a
 * first sync of 100,000 users never holds its 60 MB of JSON as one string. What is stored must
 * still be exactly the JSON of the result, read back whole by `report --run`.
 */

const SECRET = 'ssws-00aBcDeFgHiJkLmNoPqRsTuVwXyZ0123456789';

function result(runId: string, n: number): RunResult {
  const operations = Array.from({ length: n }, (_, i) => createOp(i + 1));
  const plan: Plan = {
    schemaVersion: 1,
    source: 'okta',
    operations,
    memberships: operations.map((o) => ({ idpId: o.idpId, teams: ['acme:everyone'], fromOperation: o.id })),
    findings: [{ code: 'INVALID_EMAIL', severity: 'error', subject: 'bad', message: 'not an email: «ünïcödé» \u2028 "quoted"' }],
    safety: { deactivations: 0, managedUsers: 0, maxDeactivations: 25, maxDeactivationPercent: 10, tripped: false, forced: false, deactivationDisabled: false, message: null },
    counts: {
      idpUsers: n,
      desiredActive: n,
      dockerUsers: 0,
      managed: 0,
      operations: { 'group-create': 0, create: n, adopt: 0, reactivate: 0, update: 0, 'team-add': 0, 'team-remove': 0, deactivate: 0 },
      blocked: 0,
      findings: { error: 1, warning: 0, info: 0 },
    },
    coverage: { mode: 'full' },
  };
  const results = operations.map((o, i) =>
    i % 97 === 5
      ? { opId: o.id, kind: o.kind, subject: o.userName, status: 'failed' as const, error: { code: 'DOCKER_SEATS', message: 'no seats left', status: 403 } }
      : { opId: o.id, kind: o.kind, subject: o.userName, status: 'succeeded' as const, dockerId: `d-${i}` },
  );
  return { runId, dryRun: false, status: 'partial', startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:01:00.000Z', plan, results, recovered: ['u1@example.com'] };
}

describe('a stored run result, written in pieces', () => {
  it('is exactly the JSON of the value, whatever JSON.stringify leaves out or writes as null', () => {
    const values: unknown[] = [
      result('r1', 3),
      { a: undefined, b: () => 1, c: Symbol('s'), d: [undefined, () => 1, Symbol('t'), null, 1], e: new Date(0), f: { toJSON: () => 'mine' } },
      { nested: { deeper: { deepest: [{ x: [1, [2, [3]]] }] } }, '1': 'a number key comes first', 'é': 'ü' },
      [],
      {},
      'a string',
      42,
      null,
    ];
    for (const value of values) {
      for (const sliceChars of [1, 7, 1 << 20]) {
        expect(gunzipSync(packJson(value, { sliceChars })).toString('utf8')).toBe(JSON.stringify(value));
      }
    }
  });

  it('a large result is made and compressed a slice at a time, into one gzip stream that reads back equal', () => {
    const big = result('r2', 20_000);
    const slices: number[] = [];
    const packed = packJson(big, { scrub: (t) => (slices.push(t.length), t) });
    // Never the whole 3 MB of JSON at once: slices of about 256 KB, each cut after a whole piece.
    expect(JSON.stringify(big).length).toBeGreaterThan(10 * 256 * 1024);
    expect(slices.length).toBeGreaterThan(10);
    expect(Math.max(...slices)).toBeLessThan(256 * 1024 + 1024);
    // One gzip member, as gzipSync of the whole text would be: one header, at the start.
    expect(packed.indexOf('1f8b08', 1, 'hex')).toBe(-1);
    expect(JSON.parse(gunzipSync(packed).toString('utf8'))).toEqual(big);
  });

  it('every slice is scrubbed, and no secret is cut in two by a slice, however small', () => {
    const leaky = result('r3', 50);
    const ops = leaky.plan.operations.map((o, i) => (i % 10 === 0 ? { ...o, reason: `the token ${SECRET} leaked into a message` } : o));
    const value = { ...leaky, plan: { ...leaky.plan, operations: ops } };
    for (const sliceChars of [1, 13, 100, 1 << 20]) {
      const text = gunzipSync(packJson(value, { sliceChars, scrub: scrubber([SECRET]) })).toString('utf8');
      expect(text).not.toContain(SECRET);
      expect(text).not.toContain(SECRET.slice(0, 16));
      expect(text.split('[redacted]').length - 1).toBe(5);
    }
  });

  it('the state file keeps a large result that `report --run` reads back equal, and names a damaged one', () => {
    const s = openState({ path: join(mkdtempSync(join(tmpdir(), 'state-')), 'state.db') });
    const run = s.startRun('okta', false);
    const big = result(run, 20_000);
    s.finishRun(run, 'partial', big);
    const raw = (s.db.prepare('SELECT result FROM runs WHERE id = ?').get(run) as { result: Buffer }).result;
    expect(s.storedRun(run)?.result).toEqual(big);
    expect(s.recentRuns(1)[0]?.summary).toMatchObject({ applied: { create: 20_000 - 207 }, succeeded: 20_000 - 207, failed: 207, blocked: 0, recovered: 1, mode: 'full' });

    // Cut short, bytes lost from the middle, one byte changed, or something after the end that is
    // not gzip: damaged, never half read (the trailer's CRC covers every slice).
    const damaged = [
      raw.subarray(0, raw.length - 100),
      Buffer.concat([raw.subarray(0, raw.length >> 1), raw.subarray((raw.length >> 1) + 5000)]),
      Buffer.from(raw).fill(0x55, raw.length >> 1, (raw.length >> 1) + 1),
      Buffer.concat([raw, Buffer.from('trailing bytes')]),
    ];
    for (const bytes of damaged) {
      s.db.prepare('UPDATE runs SET result = ? WHERE id = ?').run(bytes, run);
      expect(() => s.storedRun(run)).toThrow(/damaged row: table runs, id "[^"]+", column result is not valid compressed JSON/);
    }
    s.close();
  });
});
