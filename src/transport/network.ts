/**
 * What a failed exchange without an answer says: worth asking again (a reset, a refusal, a timeout,
 * a DNS blip), and whether it proves the request never reached the server.
 */

/** An error and its `cause`s, outermost first (undici wraps the socket error in `cause`). */
export function causeChain(err: unknown): object[] {
  const out: object[] = [];
  let e: unknown = err;
  while (e && typeof e === 'object' && !out.includes(e)) {
    out.push(e);
    e = (e as { cause?: unknown }).cause;
  }
  return out;
}

const TRANSIENT_CODE = /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|UND_ERR_|ERR_STREAM_PREMATURE_CLOSE|ECONNABORTED)/;

/** True for errors worth retrying at the transport level: resets, refused, timeouts, DNS blips. */
export function isTransientNetworkError(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    const name = (e as { name?: unknown }).name;
    if (typeof code === 'string' && TRANSIENT_CODE.test(code)) return true;
    if (name === 'TimeoutError' || (name === 'AbortError' && (e as { message?: string }).message?.includes('timeout'))) return true;
    return (e as { type?: unknown }).type === 'request-timeout';
  });
}

/** Failures that prove the request never reached the server, so a write cannot have landed. */
export function neverSent(err: unknown): boolean {
  return causeChain(err).some((e) => {
    const code = (e as { code?: unknown }).code;
    return code === 'ECONNREFUSED' || code === 'ENOTFOUND' || code === 'EAI_AGAIN';
  });
}

/** node-fetch v2 (the Okta SDK's fetch) wraps socket errors as FetchError of type 'system'. */
export function isNodeFetchSystemError(err: unknown): boolean {
  return err instanceof Error && err.name === 'FetchError' && (err as { type?: unknown }).type === 'system';
}

/** undici's `fetch failed` TypeError (the global fetch Graph's client uses), whose cause is the socket error. */
export function isFetchFailure(err: unknown): boolean {
  return err instanceof TypeError && err.message === 'fetch failed';
}
