import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../../logging/logger.ts';
import type { SourceReadError } from '../../model/errors.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { backoffMs, isRateLimitWait, retryAfterMs, type BackoffPolicy } from '../../util/retry.ts';
import { MAX_RETRY_AFTER_MS, type GraphApi } from './client.ts';
import { EntraAbortedError, EntraHttpError, EntraMalformedError } from './errors.ts';
import { eachLimited } from '../../util/concurrency.ts';

/**
 * GETs many objects through `POST /$batch`, built by hand (entra-graph.md §1.4, gotcha 7): the SDK's
 * BatchRequestContent 3.0.7 serialises item URLs Graph refuses and mangles item bodies (§5.4).
 * - at most 20 items a batch, ids unique, URLs relative to the version (`/users/{id}?$select=…`);
 * - answers are matched by id, never by position (Graph answers in any order);
 * - an item's own 429 (or 5xx) arrives inside an HTTP 200 and nothing retries it for us (gotcha 8):
 *   those items are sent again, alone, after the longest `Retry-After` among them, up to
 *   `maxRetries` times; an item still failing then fails the read, as does any other item error.
 * The batch request itself goes through the client's retry policy like any other request.
 */

export const MAX_BATCH_ITEMS = 20;
const RETRY_ITEM_STATUSES = new Set([429, 500, 502, 503, 504]);

export interface BatchGet {
  /** The caller's key for the answer. */
  readonly key: string;
  /** Relative to the version, query included: `/users/{id}?$select=id,mail`. */
  readonly url: string;
  /** Names the item in errors, e.g. `GET /users/{id} (user 0000…)`. */
  readonly describe: string;
  readonly subject: 'group' | 'user';
}

export interface BatchDeps {
  api: GraphApi;
  logger: Logger;
  signal: AbortSignal | undefined;
  maxRetries: number;
  backoff: BackoffPolicy;
  /** Batches in flight at once. */
  concurrency: number;
  fail: (err: unknown, operation: string, subject: 'group' | 'user' | 'read') => SourceReadError;
  /**
   * Told of each item sent again (a retry: Graph limits items one by one) and of the wait for
   * throttled items. The batch POSTs themselves are counted by the client like any request.
   */
  observer?: TransportObserver;
}

/** Every item's JSON body by key, or a SourceReadError for the first item that could not be read. */
export async function batchGet(items: readonly BatchGet[], deps: BatchDeps): Promise<Map<string, Record<string, unknown>>> {
  const results = new Map<string, Record<string, unknown>>();
  const chunks: BatchGet[][] = [];
  for (let i = 0; i < items.length; i += MAX_BATCH_ITEMS) chunks.push(items.slice(i, i + MAX_BATCH_ITEMS));
  await eachLimited(chunks, deps.concurrency, (chunk) => runChunk(chunk, deps, results));
  return results;
}

interface ItemAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

async function runChunk(chunk: readonly BatchGet[], deps: BatchDeps, results: Map<string, Record<string, unknown>>): Promise<void> {
  let pending = chunk.map((item, i) => ({ id: String(i + 1), item }));
  for (let attempt = 0; ; attempt++) {
    const operation = `POST /$batch (${pending.length} item${pending.length === 1 ? '' : 's'}, first ${pending[0]?.item.describe ?? ''})`;
    if (deps.signal?.aborted) throw deps.fail(new EntraAbortedError(), operation, 'read');
    let answer: Record<string, unknown>;
    try {
      answer = await deps.api.post('/$batch', { requests: pending.map((p) => ({ id: p.id, method: 'GET', url: p.item.url })) }, { route: 'POST /$batch' });
    } catch (err) {
      throw deps.fail(err, operation, 'read');
    }
    const byId = answersById(answer, pending.map((p) => p.id));
    if (byId instanceof EntraMalformedError) throw deps.fail(byId, operation, 'read');

    const again: Array<{ id: string; item: BatchGet; answer: ItemAnswer }> = [];
    for (const p of pending) {
      const a = byId.get(p.id) as ItemAnswer;
      if (a.status >= 200 && a.status < 300) {
        if (a.body === null || typeof a.body !== 'object' || Array.isArray(a.body)) {
          throw deps.fail(new EntraMalformedError('the batch answer for this item has no JSON object body'), `${p.item.describe} (in $batch)`, p.item.subject);
        }
        results.set(p.item.key, a.body as Record<string, unknown>);
      } else if (RETRY_ITEM_STATUSES.has(a.status)) {
        again.push({ ...p, answer: a });
      } else {
        // Any other status fails the read, 404 included: an object deleted between the listing and
        // this read (or a replication lag) would otherwise silently drop an assigned user. Complete
        // or an error; the next run sees a consistent directory. A 3xx item is such an error too:
        // nothing inside a $batch answer (Location, links) is ever followed (invariant 10).
        throw deps.fail(itemError(a, attempt + 1), `${p.item.describe} (in $batch)`, p.item.subject);
      }
    }
    if (again.length === 0) return;
    const first = again[0] as (typeof again)[number];
    if (attempt >= deps.maxRetries) throw deps.fail(itemError(first.answer, attempt + 1), `${first.item.describe} (in $batch)`, first.item.subject);

    // Graph asks to wait for the longest Retry-After among the throttled items (throttling.md).
    const asked = again.map((x) => retryAfterMs({ get: (n) => headerOf(x.answer.headers, n) })).filter((x): x is number => x !== null);
    const waitMs = asked.length > 0 ? Math.min(Math.max(...asked), MAX_RETRY_AFTER_MS) : backoffMs(attempt, deps.backoff);
    deps.logger.warn(
      { route: 'POST /$batch', items: again.length, status: first.answer.status, attempt: attempt + 1, maxRetries: deps.maxRetries, waitMs },
      first.answer.status === 429 ? 'graph throttled batch items (429 inside the batch); retrying them after Retry-After' : 'graph batch items failed; retrying them',
    );
    for (let i = 0; i < again.length; i++) deps.observer?.retry('entra');
    const rateLimit = again.some((x) => isRateLimitWait(x.answer.status, false)) || asked.length > 0;
    const t0 = Date.now();
    try {
      await delay(waitMs, undefined, deps.signal ? { signal: deps.signal } : {});
    } catch {
      throw deps.fail(new EntraAbortedError(), operation, 'read');
    } finally {
      if (rateLimit) deps.observer?.waited('entra', Date.now() - t0);
    }
    pending = again.map(({ id, item }) => ({ id, item }));
  }
}

/** The answers keyed by id; every id sent must be answered exactly once. */
function answersById(answer: Record<string, unknown>, ids: readonly string[]): Map<string, ItemAnswer> | EntraMalformedError {
  const responses = answer.responses;
  if (!Array.isArray(responses)) return new EntraMalformedError('the $batch answer has no "responses" array');
  const out = new Map<string, ItemAnswer>();
  for (const r of responses) {
    if (!r || typeof r !== 'object') return new EntraMalformedError('a $batch response is not an object');
    const o = r as Record<string, unknown>;
    const id = typeof o.id === 'string' ? o.id : null;
    if (id === null || !ids.includes(id)) return new EntraMalformedError(`the $batch answer has a response for an id that was not sent (${String(o.id)})`);
    if (out.has(id)) return new EntraMalformedError(`the $batch answer has two responses for id ${id}`);
    if (typeof o.status !== 'number') return new EntraMalformedError(`the $batch response for id ${id} has no status`);
    const headers: Record<string, string> = {};
    if (o.headers && typeof o.headers === 'object') for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) headers[k] = String(v);
    out.set(id, { status: o.status, headers, body: o.body });
  }
  const missing = ids.filter((id) => !out.has(id));
  if (missing.length > 0) return new EntraMalformedError(`the $batch answer has no response for ${missing.length} of ${ids.length} items`);
  return out;
}

function itemError(a: ItemAnswer, attempts: number): EntraHttpError {
  const err = (a.body as { error?: { code?: unknown; message?: unknown; innerError?: Record<string, unknown> } } | null)?.error;
  const code = typeof err?.code === 'string' ? err.code : null;
  const message = typeof err?.message === 'string' ? err.message : null;
  const requestId = typeof err?.innerError?.['request-id'] === 'string' ? (err.innerError['request-id'] as string) : null;
  return new EntraHttpError(a.status, code, message, requestId, attempts);
}

function headerOf(headers: Record<string, string>, name: string): string | null {
  for (const [k, v] of Object.entries(headers)) if (k.toLowerCase() === name) return v;
  return null;
}

