import { describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { batchGet, type BatchGet } from '../../src/sources/entra/batch.ts';
import type { GraphApi } from '../../src/sources/entra/client.ts';
import { captureLogs } from '../support/logs.ts';
import { CountingObserver } from '../docker/observer-counter.ts';

/**
 * The `$batch` adapter of the transport policy, against a scripted Graph: throttled items are sent
 * again, alone, after the longest Retry-After among them (entra-graph.md §1.4). The waits are a few
 * hundred ms of real time; nothing asserts an upper bound on them.
 */

type Item = { id: string; status: number; headers?: Record<string, string>; body?: unknown };

function scriptedGraph(answers: Array<(ids: string[]) => Item[]>) {
  const sent: string[][] = [];
  const api: GraphApi = {
    origin: 'https://graph.test',
    isOnGraphOrigin: () => true,
    get: async () => ({}),
    post: async (_path, body) => {
      const ids = (body as { requests: Array<{ id: string }> }).requests.map((r) => r.id);
      sent.push(ids);
      const answer = answers[sent.length - 1] ?? (() => []);
      return { responses: answer(ids) };
    },
  };
  return { api, sent };
}

const items: BatchGet[] = ['a', 'b', 'c'].map((k) => ({ key: k, url: `/users/${k}`, describe: `GET /users/${k}`, subject: 'user' }));
const ok = (id: string): Item => ({ id, status: 200, body: { id } });

describe('$batch items throttled inside a 200', () => {
  it('are sent again, alone, after the longest Retry-After among them, each counted as a retry', async () => {
    const logs = captureLogs();
    const observer = new CountingObserver();
    const graph = scriptedGraph([
      () => [ok('1'), { id: '2', status: 429, headers: { 'Retry-After': '0.05' } }, { id: '3', status: 429, headers: { 'Retry-After': '0.3' } }],
      (ids) => ids.map(ok),
    ]);
    const t0 = Date.now();
    const got = await batchGet(items, {
      api: graph.api,
      logger: logs.logger,
      signal: undefined,
      maxRetries: 2,
      backoff: { baseMs: 1, capMs: 2 },
      concurrency: 1,
      fail: (err) => new SourceReadError(String(err), { system: 'entra', operation: 'read' }),
      observer,
    });
    expect([...got.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(graph.sent).toEqual([['1', '2', '3'], ['2', '3']]);
    expect(logs.lines.find((l) => l.level === 'warn')).toMatchObject({ items: 2, status: 429, waitMs: 300 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(300);
    expect(observer.retries).toEqual(['entra', 'entra']);
    // A wait Graph named is rate-limit wait.
    expect(observer.waits).toHaveLength(1);
  });

  it('an item still throttled when the retries run out fails the read, naming it', async () => {
    const graph = scriptedGraph([() => [ok('1'), { id: '2', status: 503 }, ok('3')], () => [{ id: '2', status: 503 }]]);
    const err = await batchGet(items, {
      api: graph.api,
      logger: captureLogs().logger,
      signal: undefined,
      maxRetries: 1,
      backoff: { baseMs: 1, capMs: 2 },
      concurrency: 1,
      fail: (e, operation) => new SourceReadError(`${operation}: ${(e as Error).message}`, { system: 'entra', operation }),
    }).catch((e: unknown) => e as SourceReadError);
    expect(err).toBeInstanceOf(SourceReadError);
    expect((err as SourceReadError).message).toContain('GET /users/b (in $batch)');
    expect(graph.sent).toHaveLength(2);
  });
});
