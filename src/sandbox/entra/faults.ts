import { randomUUID } from 'node:crypto';
import type { FaultAction } from '../http/faults.ts';
import { oauthError } from './identity.ts';
import { graphErrorBody } from './wire.ts';

/**
 * Fault responses as Microsoft Graph and the token endpoint send them (entra-graph.md §3, §4): the
 * Graph error body with `innerError`, Graph's content type and request ids, `Retry-After` on 429 and
 * 503. Arm them with `emulator.http.faults.add({ route, page?, action })`. Faults for single items
 * of a `$batch`, which arrive inside an HTTP 200 (gotcha 8), are armed with
 * `emulator.batchFaults.add({ nth | url, action })`.
 */

/** The content type Graph puts on every JSON answer, errors included (§8.5). */
export const GRAPH_CONTENT_TYPE = 'application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8';

/** Any Graph error, e.g. `graphError(400, 'Request_BadRequest', 'Invalid request')`. */
export function graphError(status: number, code: string, message: string, headers: Record<string, string> = {}): FaultAction {
  const requestId = randomUUID();
  return {
    type: 'status',
    status,
    body: graphErrorBody(code, message, requestId),
    headers: { 'content-type': GRAPH_CONTENT_TYPE, 'request-id': requestId, 'client-request-id': requestId, 'x-ms-resource-unit': '1', ...headers },
  };
}

/** 429 TooManyRequests with `Retry-After` (seconds) and the throttle headers of §3. */
export function graphThrottled(retryAfterSeconds = 1): FaultAction {
  return graphError(429, 'TooManyRequests', 'Too many requests.', {
    'retry-after': String(retryAfterSeconds),
    'x-ms-throttle-scope': 'Tenant_Application/ReadWrite/sandbox',
    'x-ms-throttle-information': 'ResourceUnitLimitExceeded',
  });
}

/** 503 serviceNotAvailable; `Retry-After` unless null (503 "may" carry it, §3). */
export function graphServiceUnavailable(retryAfterSeconds: number | null = 1): FaultAction {
  return graphError(503, 'serviceNotAvailable', 'Service is temporarily unavailable. Try again later.', retryAfterSeconds === null ? {} : { 'retry-after': String(retryAfterSeconds) });
}

/** A 5xx other than 503 (500 generalException, 502, 504). */
export function graphServerError(status = 500): FaultAction {
  return graphError(status, status === 504 ? 'UnknownError' : 'generalException', status === 504 ? 'Gateway timeout.' : 'An unexpected error occurred.');
}

/** 403 Authorization_RequestDenied, as for an app without the permission or admin consent (§2). */
export function graphForbidden(): FaultAction {
  return graphError(403, 'Authorization_RequestDenied', 'Insufficient privileges to complete the operation.');
}

/** 401 InvalidAuthenticationToken. */
export function graphUnauthorized(message = 'Access token validation failure. Invalid audience.'): FaultAction {
  return graphError(401, 'InvalidAuthenticationToken', message);
}

/** 404 Request_ResourceNotFound, e.g. `graphNotFound('00000000-…')`. */
export function graphNotFound(id: string): FaultAction {
  return graphError(404, 'Request_ResourceNotFound', `Resource '${id}' does not exist or one of its queried reference-property objects are not present.`);
}

/**
 * A delta link Graph no longer knows (§1.5): 410 Gone, `resyncRequired`, and a Location with an
 * empty `$deltatoken` to start over; or the 400 `syncStateNotFound` of an expired token. For the
 * `usersDelta` / `groupsDelta` routes; `emulator.delta.faults.expireNext()` does the same from
 * inside the delta routes, for token calls only.
 */
export function graphDeltaExpired(how: 'gone' | 'syncStateNotFound' = 'gone', resource: 'users' | 'groups' = 'users'): FaultAction {
  return how === 'gone'
    ? graphError(410, 'resyncRequired', 'Resync required. The delta token is no longer valid; replace local data with a full synchronization.', { location: `/v1.0/${resource}/delta?$deltatoken=` })
    : graphError(400, 'syncStateNotFound', 'The sync state generation is not found: the delta token has expired.');
}

/** A token-endpoint error in OAuth JSON, e.g. `tokenError(400, 'invalid_request', 90002, 'Tenant not found.')`. */
export function tokenError(status: number, error: string, aadsts: number, text: string, headers: Record<string, string> = {}): FaultAction {
  const r = oauthError(status, error, aadsts, text);
  return { type: 'status', status, body: r.body, headers: { ...(r.headers as Record<string, string>), ...headers } };
}

/** A 200 whose body is HTML, as a captive portal or misrouted proxy answers. */
export function htmlInsteadOfJson(): FaultAction {
  return { type: 'status', status: 200, body: '<html><body>Sign in to the proxy</body></html>', headers: { 'content-type': 'text/html' } };
}

/** What one `$batch` item answers instead of its real response. */
export interface BatchItemAction {
  status: number;
  headers?: Record<string, string>;
  body?: unknown;
}

export interface BatchItemFault {
  /** The n-th batch item the emulator handles after the fault is armed (1-based, across batches, in request order). */
  nth?: number;
  /** Items whose URL contains this text or matches this pattern. */
  url?: string | RegExp;
  /** How many items it answers; Infinity for "until cleared". Default 1. */
  times?: number;
  action: BatchItemAction;
}

/** A batch item throttled on its own: status 429 and its own `Retry-After` inside the 200 (§1.4). */
export function batchItemThrottled(retryAfterSeconds = 1): BatchItemAction {
  return {
    status: 429,
    headers: { 'Retry-After': String(retryAfterSeconds), 'Content-Type': 'application/json' },
    body: graphErrorBody('TooManyRequests', 'Too many requests.'),
  };
}

/** Any error for one batch item, e.g. `batchItemError(403, 'Authorization_RequestDenied', '…')`. */
export function batchItemError(status: number, code: string, message: string, headers: Record<string, string> = {}): BatchItemAction {
  return { status, headers: { 'Content-Type': 'application/json', ...headers }, body: graphErrorBody(code, message) };
}

interface ArmedItemFault extends BatchItemFault {
  seen: number;
  fired: number;
}

export class BatchItemFaults {
  private rules: ArmedItemFault[] = [];
  /** Every item fault that fired: the item's URL and the status it got. */
  readonly fired: Array<{ url: string; status: number }> = [];

  add(rule: BatchItemFault): this {
    this.rules.push({ ...rule, seen: 0, fired: 0 });
    return this;
  }

  clear(): void {
    this.rules = [];
  }

  pending(): number {
    return this.rules.filter((r) => r.fired < (r.times ?? 1)).length;
  }

  /** The fault for this item, if one is armed for it (consumed). */
  take(url: string): BatchItemAction | null {
    let out: BatchItemAction | null = null;
    for (const rule of this.rules) {
      if (rule.fired >= (rule.times ?? 1)) continue;
      if (rule.url !== undefined && !(typeof rule.url === 'string' ? url.includes(rule.url) : rule.url.test(url))) continue;
      rule.seen += 1;
      if (rule.nth !== undefined && rule.seen !== rule.nth) continue;
      if (out) continue;
      rule.fired += 1;
      out = rule.action;
      this.fired.push({ url, status: rule.action.status });
    }
    return out;
  }
}
