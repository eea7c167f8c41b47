import type { Logger } from '../../logging/logger.ts';
import type { SourceReadError } from '../../model/errors.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { withRetries } from '../../transport/retry-loop.ts';
import { GRAPH } from '../../transport/systems.ts';
import { retryAfterMs, type BackoffPolicy, type HeaderSource } from '../../transport/wait-time.ts';
import { eachLimited } from '../../util/concurrency.ts';
import type { GraphApi } from './client.ts';
import { EntraAbortedError, EntraHttpError, EntraMalformedError } from './errors.ts';

/**
 * GETs many objects through `POST /$batch`, built by hand (entra-graph.md §1.4, gotcha 7): the SDK's
 * BatchRequestContent 3.0.7 serialises item URLs Graph refuses and mangles item bodies (§5.4).
 * - at most 20 items a batch, ids unique, URLs relative to the version (`/users/{id}?$select=…`);
 * - answers are matched by id, never by position (Graph answers in any order);
 * - an item's own 429 (or 5xx) arrives inside an HTTP 200 and nothing retries it for us (gotcha 8):
 *   those items are sent again, alone, by the shared transport policy (GRAPH: the statuses, the
 *   cap, the attempts), after the longest `Retry-After` among them; an item still failing then
 *   fails the read, as does any other item error.
 * The batch request itself goes through the client's retry policy and pacing like any other request.
 */

export const MAX_BATCH_ITEMS = 20;

export interface BatchGet {
  /** The caller's key for the answer. */
  readonly key: string;
  /** Relative to the version, query included: `/users/{id}?$select=id,mail`. */
  readonly url: string;
  /** Names the item in errors, e.g. `GET /users/{id} (user 0000…)`. */
  readonly describe: string;
  readonly subject: 'group' | 'user';
  /**
   * A 404 means "not there" rather than a failed read: the item is left out of the answers. For a
   * scoped read, where a user deleted since the feed named them is an answer, not an error.
   */
  readonly missingOk?: boolean;
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
  // Batches in flight at once (p-limit); the first failure stops the ones not started, and the
  // read waits for those running, so nothing of it is still sending once it has failed.
  await eachLimited(chunks, deps.concurrency, (chunk) => runChunk(chunk, deps, results));
  return results;
}

interface ItemAnswer {
  status: number;
  headers: Record<string, string>;
  body: unknown;
}

type Pending = { id: string; item: BatchGet };
/** One batch attempt: the items to send again, with their answers. */
type Again = Array<Pending & { answer: ItemAnswer }>;

async function runChunk(chunk: readonly BatchGet[], deps: BatchDeps, results: Map<string, Record<string, unknown>>): Promise<void> {
  let pending: Pending[] = chunk.map((item, i) => ({ id: String(i + 1), item }));
  let operation = '';
  const end = await withRetries<Again>({
    policy: GRAPH,
    settings: { maxRetries: deps.maxRetries, backoff: deps.backoff },
    idempotent: true,
    signal: deps.signal,
    send: async (attempt) => {
      operation = `POST /$batch (${pending.length} item${pending.length === 1 ? '' : 's'}, first ${pending[0]?.item.describe ?? ''})`;
      if (deps.signal?.aborted) throw deps.fail(new EntraAbortedError(), operation, 'read');
      const again = await sendBatch(pending, attempt, operation, deps, results);
      pending = again.map(({ id, item }) => ({ id, item }));
      return { outcome: { kind: 'answer', status: again.length === 0 ? 200 : worstStatus(again), headers: longestRetryAfter(again) }, value: again };
    },
    onRetry: ({ value, attempts, waitMs }) => {
      const first = value[0] as Again[number];
      deps.logger.warn(
        { route: 'POST /$batch', items: value.length, status: first.answer.status, attempt: attempts, maxRetries: deps.maxRetries, waitMs },
        first.answer.status === 429 ? 'graph throttled batch items (429 inside the batch); retrying them after Retry-After' : 'graph batch items failed; retrying them',
      );
      // Graph limits items one by one: each item sent again is a retry.
      for (let i = 0; i < value.length; i++) deps.observer?.retry('entra');
    },
    onRateLimitWait: (ms) => deps.observer?.waited('entra', ms),
  });
  if (end.kind === 'aborted') throw deps.fail(new EntraAbortedError(), operation, 'read');
  const first = end.last.value[0];
  if (first) throw deps.fail(itemError(first.answer, end.attempts), `${first.item.describe} (in $batch)`, first.item.subject);
}

/** One `$batch` POST: the items read go into `results`; those worth asking again come back. */
async function sendBatch(pending: readonly Pending[], attempt: number, operation: string, deps: BatchDeps, results: Map<string, Record<string, unknown>>): Promise<Again> {
  let answer: Record<string, unknown>;
  try {
    answer = await deps.api.post('/$batch', { requests: pending.map((p) => ({ id: p.id, method: 'GET', url: p.item.url })) }, { route: 'POST /$batch' });
  } catch (err) {
    throw deps.fail(err, operation, 'read');
  }
  const byId = answersById(answer, pending.map((p) => p.id));
  if (byId instanceof EntraMalformedError) throw deps.fail(byId, operation, 'read');

  const again: Again = [];
  for (const p of pending) {
    const a = byId.get(p.id) as ItemAnswer;
    if (a.status >= 200 && a.status < 300) {
      if (a.body === null || typeof a.body !== 'object' || Array.isArray(a.body)) {
        throw deps.fail(new EntraMalformedError('the batch answer for this item has no JSON object body'), `${p.item.describe} (in $batch)`, p.item.subject);
      }
      results.set(p.item.key, a.body as Record<string, unknown>);
    } else if (a.status === 404 && p.item.missingOk === true) {
      // Absent from the answers: the caller asked to be told "not there".
    } else if (GRAPH.retries(a.status)) {
      again.push({ ...p, answer: a });
    } else {
      // Any other status fails the read, 404 included: an object deleted between the listing and
      // this read (or a replication lag) would otherwise silently drop an assigned user. Complete
      // or an error; the next run sees a consistent directory. A 3xx item is such an error too:
      // nothing inside a $batch answer (Location, links) is ever followed (invariant 10).
      throw deps.fail(itemError(a, attempt + 1), `${p.item.describe} (in $batch)`, p.item.subject);
    }
  }
  return again;
}

/** The items stand for the batch as one answer: a 429 if any was throttled, the status of the first otherwise. */
function worstStatus(again: Again): number {
  return again.some((x) => x.answer.status === 429) ? 429 : (again[0] as Again[number]).answer.status;
}

/**
 * Graph asks to wait for the longest Retry-After among the throttled items (throttling.md), so that
 * one stands for the batch; none when no item named one (backoff then).
 */
function longestRetryAfter(again: Again): HeaderSource {
  const now = Date.now();
  const asked = again.map((x) => retryAfterMs({ get: (n) => headerOf(x.answer.headers, n) }, now)).filter((x): x is number => x !== null);
  const longest = asked.length > 0 ? Math.max(...asked) : null;
  return { get: (name) => (name === 'retry-after' && longest !== null ? String(longest / 1000) : null) };
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

