/**
 * Realistic Docker faults for `emulator.http.faults.add({ route, action })`: the 429s in both
 * documented header styles and server errors with the SCIM error body (reference §4).
 */
import type { FaultAction } from '../http/faults.ts';
import { scimErrorBody } from './wire.ts';

export interface RateLimitedFault {
  /** `Retry-After` in seconds (newer Hub spec) or `X-Retry-After` as a unix timestamp (older spec). */
  style: 'Retry-After' | 'X-Retry-After';
  seconds: number;
}

export function dockerRateLimited(opts: RateLimitedFault): FaultAction {
  const headers: Record<string, string> = {};
  if (opts.style === 'Retry-After') {
    headers['retry-after'] = String(opts.seconds);
  } else {
    // A getter, so the timestamp is taken when the fault fires (the emulator spreads the headers
    // then), not when the test armed it.
    Object.defineProperty(headers, 'x-retry-after', {
      enumerable: true,
      get: () => String(Math.ceil(Date.now() / 1000) + opts.seconds),
    });
  }
  // Gap: the SCIM 429 body is undocumented (other Hub endpoints send {"detail":"Rate limit exceeded"}).
  return { type: 'status', status: 429, headers, body: scimErrorBody(429, 'Rate limit exceeded') };
}

export interface ServerErrorOptions {
  /** Answer as a proxy in front of Docker would: an HTML page instead of a SCIM error body. */
  proxy?: boolean;
}

export function dockerServerError(status: number, opts: ServerErrorOptions = {}): FaultAction {
  if (opts.proxy) {
    return {
      type: 'status',
      status,
      headers: { 'content-type': 'text/html' },
      body: `<html><head><title>${status}</title></head><body><h1>${status}</h1><p>The upstream server did not answer.</p></body></html>`,
    };
  }
  return { type: 'status', status, body: scimErrorBody(status, status === 503 ? 'Service temporarily unavailable' : 'Internal server error') };
}
