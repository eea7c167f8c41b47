import type { EmulatorRequest, EmulatorResponse } from '../http/emulator.ts';
import { GRAPH_CONTENT_TYPE } from './faults.ts';
import { graphErrorBody } from './wire.ts';

/**
 * `POST /v1.0/$batch` as Graph documents it (entra-graph.md §1.4, §8.8): at most 20 items, ids unique
 * case-insensitively, item URLs relative to the version (`/users/…`, not `/v1.0/users/…`), a body
 * only with a Content-Type; anything else makes the whole batch a 400. Otherwise the answer is 200
 * with one response per item, in an order of the emulator's choosing (reversed here, so a reader
 * that pairs answers by position fails), each item with its own status and headers under the exact
 * key `Content-Type` (the SDK's BatchResponseContent depends on that spelling, §5.4). A throttled
 * item is a 429 with its own `Retry-After` inside the 200 (gotcha 8).
 */

export const MAX_BATCH_ITEMS = 20;

export interface BatchItem {
  readonly id: string;
  readonly method: string;
  /** Relative to the version, query included: `/users/{id}?$select=id`. */
  readonly url: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: unknown;
  readonly dependsOn: readonly string[];
}

export interface BatchItemResponse {
  id: string;
  status: number;
  headers: Record<string, string>;
  body?: unknown;
}

/** Runs one item against the emulator's own routes; authentication was checked on the outer request. */
export type RunItem = (item: BatchItem) => Promise<EmulatorResponse>;

export async function handleBatch(req: EmulatorRequest, run: RunItem): Promise<EmulatorResponse> {
  let parsed: unknown;
  try {
    parsed = req.json();
  } catch {
    return badRequest('Invalid batch payload format.');
  }
  const items = validate(parsed);
  if (typeof items === 'string') return badRequest(items);

  const outcome = new Map<string, number>();
  const responses: BatchItemResponse[] = [];
  for (const item of items) {
    // Items that depend on a failed item are not run (Graph answers 424 for them).
    const failedDependency = item.dependsOn.find((d) => {
      const s = outcome.get(d.toLowerCase());
      return s === undefined || s < 200 || s >= 300;
    });
    let res: EmulatorResponse;
    if (failedDependency !== undefined) {
      res = { status: 424, body: graphErrorBody('BadRequest', `Failed dependency: request ${failedDependency} did not succeed.`) };
    } else {
      res = await run(item);
    }
    outcome.set(item.id.toLowerCase(), res.status);
    responses.push({ id: item.id, status: res.status, headers: itemHeaders(res), ...(res.body !== undefined && res.body !== null ? { body: res.body } : {}) });
  }
  return { status: 200, body: { responses: responses.reverse() } };
}

/** The items, or why the batch as a whole is refused. */
function validate(parsed: unknown): BatchItem[] | string {
  if (!parsed || typeof parsed !== 'object' || !Array.isArray((parsed as { requests?: unknown }).requests)) return 'Invalid batch payload format.';
  const raw = (parsed as { requests: unknown[] }).requests;
  if (raw.length === 0) return 'Invalid batch payload format: the batch contains no requests.';
  if (raw.length > MAX_BATCH_ITEMS) return `Number of requests in a batch cannot exceed ${MAX_BATCH_ITEMS}.`;
  const seen = new Set<string>();
  const out: BatchItem[] = [];
  for (const r of raw) {
    if (!r || typeof r !== 'object') return 'Invalid batch payload format: a request is not an object.';
    const o = r as Record<string, unknown>;
    if (typeof o.id !== 'string' || o.id === '') return 'Invalid batch payload format: a request has no id.';
    if (typeof o.method !== 'string') return `Invalid batch payload format: request ${o.id} has no method.`;
    if (typeof o.url !== 'string' || o.url === '') return `Invalid batch payload format: request ${o.id} has no url.`;
    const key = o.id.toLowerCase();
    if (seen.has(key)) return 'Batch request contains duplicate Id values.';
    seen.add(key);
    // Item URLs are relative to the version. SDK 3.0.7's BatchRequestContent serialises
    // `/v1.0/users/x`, which Graph refuses (§5.4); so does the emulator.
    if (/^https?:/i.test(o.url) || /^\/?(v1\.0|beta)(\/|$)/i.test(o.url)) return `Invalid request URL '${o.url}' in request ${o.id}: batch request URLs must be relative to the version, e.g. /users/{id}.`;
    const headers: Record<string, string> = {};
    if (o.headers && typeof o.headers === 'object') for (const [k, v] of Object.entries(o.headers as Record<string, unknown>)) headers[k] = String(v);
    if (o.body !== undefined && !Object.keys(headers).some((k) => k.toLowerCase() === 'content-type')) {
      return `Request ${o.id} has a body but no Content-Type header.`;
    }
    const dependsOn = Array.isArray(o.dependsOn) ? o.dependsOn.map(String) : [];
    for (const d of dependsOn) if (!seen.has(d.toLowerCase()) || d.toLowerCase() === key) return `Request ${o.id} depends on ${d}, which is not an earlier request in the batch.`;
    out.push({ id: o.id, method: o.method.toUpperCase(), url: o.url.startsWith('/') ? o.url : `/${o.url}`, headers, ...(o.body !== undefined ? { body: o.body } : {}), dependsOn });
  }
  return out;
}

/** An item's headers as Graph writes them: `Content-Type` and `Retry-After` in that exact case. */
function itemHeaders(res: EmulatorResponse): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(res.headers ?? {})) {
    const value = Array.isArray(v) ? v.join(', ') : v;
    const lower = k.toLowerCase();
    if (lower === 'content-type') out['Content-Type'] = value;
    else if (lower === 'retry-after') out['Retry-After'] = value;
    else if (lower === 'x-ms-resource-unit' || lower.startsWith('x-ms-throttle')) out[lower] = value;
  }
  if (res.body !== undefined && res.body !== null && out['Content-Type'] === undefined) out['Content-Type'] = GRAPH_CONTENT_TYPE;
  return out;
}

function badRequest(message: string): EmulatorResponse {
  return { status: 400, body: graphErrorBody('BadRequest', message) };
}
