import { describe, expect, it } from 'vitest';
import { TOKEN_RENEWAL_MS, TokenReuse } from '../../src/sources/entra/client.ts';

/** The access token kept between Graph requests: handed out again exactly while MSAL would hand out the same one. */

const SCOPE = 'https://graph.microsoft.com/.default';
const now = 1_000_000_000;
const token = (expiresInMs: number, refreshInMs?: number) => ({
  token: 't',
  expiresOnTimestamp: now + expiresInMs,
  ...(refreshInMs !== undefined ? { refreshAfterTimestamp: now + refreshInMs } : {}),
});

describe('reusing the access token', () => {
  it('hands the kept token out while more than the renewal margin is left, and not at the margin', () => {
    const reuse = new TokenReuse();
    expect(reuse.get(SCOPE, undefined, now)).toBeNull();
    const t = token(60 * 60_000);
    reuse.keep([SCOPE], undefined, t);
    expect(reuse.get([SCOPE], undefined, now)).toBe(t);
    expect(reuse.get(SCOPE, { abortSignal: new AbortController().signal }, now)).toBe(t);
    expect(reuse.get(SCOPE, undefined, t.expiresOnTimestamp - TOKEN_RENEWAL_MS - 1)).toBe(t);
    expect(reuse.get(SCOPE, undefined, t.expiresOnTimestamp - TOKEN_RENEWAL_MS)).toBeNull();
    // Once given up, it stays given up.
    expect(reuse.get(SCOPE, undefined, now)).toBeNull();
  });

  it('gives the token up once the credential says to refresh it', () => {
    const reuse = new TokenReuse();
    const t = token(60 * 60_000, 30 * 60_000);
    reuse.keep(SCOPE, undefined, t);
    expect(reuse.get(SCOPE, undefined, now + 30 * 60_000 - 1)).toBe(t);
    expect(reuse.get(SCOPE, undefined, now + 30 * 60_000)).toBeNull();
  });

  it('never answers for other scopes, or a call with options that could change the token', () => {
    const reuse = new TokenReuse();
    reuse.keep(SCOPE, undefined, token(60 * 60_000));
    expect(reuse.get('https://graph.microsoft.us/.default', undefined, now)).toBeNull();
    expect(reuse.get(SCOPE, { claims: 'e30' }, now)).toBeNull();
    expect(reuse.get(SCOPE, { tenantId: 'other' }, now)).toBeNull();
    // A token got with such options is not kept either.
    reuse.keep(SCOPE, { claims: 'e30' }, token(60 * 60_000));
    expect(reuse.get(SCOPE, undefined, now)).toBeNull();
  });
});
