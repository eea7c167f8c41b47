/**
 * A per-request timeout that is cleared when the request settles. `AbortSignal.timeout` cannot be
 * cleared: each one kept its request's objects (the signal's listeners hold the fetch controller,
 * and with it the request and response) alive for the whole timeout, 30 s by default. At a
 * thousand requests a second that was tens of thousands of requests' worth of memory held at
 * once, all of it promoted to the old generation, and most of a first sync's peak RSS.
 */

export interface Deadline {
  /** Aborted when the time is up (reason: a TimeoutError) or when the outer signal aborts. */
  readonly signal: AbortSignal;
  /** True once the time ran out (not when the outer signal fired). */
  readonly expired: boolean;
  /** Stops the timer and lets go of the outer signal; call it when the request has settled. */
  clear(): void;
}

export function deadline(timeoutMs: number, outer?: AbortSignal): Deadline {
  const controller = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    controller.abort(new DOMException(`the request timed out after ${timeoutMs} ms`, 'TimeoutError'));
  }, timeoutMs);
  const onOuter = () => controller.abort(outer?.reason);
  if (outer?.aborted) onOuter();
  else outer?.addEventListener('abort', onOuter, { once: true });
  return {
    signal: controller.signal,
    get expired() {
      return expired;
    },
    clear() {
      clearTimeout(timer);
      outer?.removeEventListener('abort', onOuter);
    },
  };
}
