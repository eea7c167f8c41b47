import { randomBytes } from 'node:crypto';
import type { FaultAction } from '../http/faults.ts';
import { errorJson } from './wire.ts';

/**
 * Fault responses as real Okta sends them (okta.md §3.2–§4): the ModelError body, JSON content
 * type, a request id, and for 429 the rate-limit headers the SDK and our reader act on. Arm them
 * with `emulator.http.faults.add({ route, page?, action })`.
 */

export function oktaRequestId(): string {
  return randomBytes(15).toString('base64url');
}

/** Any Okta error, e.g. `oktaError(400, 'E0000001', 'Api validation failed: limit')`. */
export function oktaError(status: number, errorCode: string, errorSummary: string, headers: Record<string, string> = {}): FaultAction {
  const requestId = oktaRequestId();
  return {
    type: 'status',
    status,
    body: errorJson(errorCode, errorSummary, requestId),
    headers: { 'content-type': 'application/json', 'x-okta-request-id': requestId, ...headers },
  };
}

/**
 * 429 E0000047 with `X-Rate-Limit-Remaining: 0` and `X-Rate-Limit-Reset` = now + resetInSeconds.
 * The headers are a getter so "now" is when the fault fires, not when the test armed it (a rule
 * with `skip` may fire much later, and a reset already in the past would not exercise the wait).
 */
export function oktaRateLimited(resetInSeconds = 1, limit = 100): FaultAction {
  const requestId = oktaRequestId();
  return {
    type: 'status',
    status: 429,
    body: errorJson('E0000047', 'API call exceeded rate limit due to too many requests.', requestId),
    get headers(): Record<string, string> {
      return {
        'content-type': 'application/json',
        'x-okta-request-id': requestId,
        'x-rate-limit-limit': String(limit),
        'x-rate-limit-remaining': '0',
        'x-rate-limit-reset': String(Math.ceil(Date.now() / 1000) + resetInSeconds),
      };
    },
  };
}

/** A 5xx with Okta's internal-error body (E0000009). */
export function oktaServerError(status = 500): FaultAction {
  return oktaError(status, 'E0000009', 'Internal Server Error');
}

/** 401 E0000011, as for a revoked or mistyped token. */
export function oktaUnauthorized(): FaultAction {
  return oktaError(401, 'E0000011', 'Invalid token provided');
}

/** 403 E0000006, as for a token whose admin lacks the role or an OAuth app lacking a scope. */
export function oktaForbidden(): FaultAction {
  return oktaError(403, 'E0000006', 'You do not have permission to perform the requested action');
}

/** 404 E0000007, e.g. `oktaNotFound('0oaXXXX (AppInstance)')`. */
export function oktaNotFound(what: string): FaultAction {
  return oktaError(404, 'E0000007', `Not found: Resource not found: ${what}`);
}

/** A 200 whose body is HTML, as a captive portal or misrouted proxy answers. */
export function htmlInsteadOfJson(): FaultAction {
  return { type: 'status', status: 200, body: '<html><body>Sign in to the proxy</body></html>', headers: { 'content-type': 'text/html' } };
}

/**
 * The System Log refusing an `after` cursor, as the emulator's own log does for an expired one
 * (system-log.ts documents the code it chose); `emulator.systemLog.expireCursors()` makes every
 * cursor handed out so far expire for good instead.
 */
export function oktaLogCursorExpired(): FaultAction {
  const requestId = oktaRequestId();
  return {
    type: 'status',
    status: 400,
    body: { ...errorJson('E0000001', 'Api validation failed: after', requestId), errorCauses: [{ errorSummary: 'The cursor is invalid or has expired' }] },
    headers: { 'content-type': 'application/json', 'x-okta-request-id': requestId },
  };
}
