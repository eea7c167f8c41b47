import { describe, expect, it } from 'vitest';
import { scrubber } from '../../src/logging/scrub.ts';
import { captureLogs } from '../support/logs.ts';

/**
 * Invariant 8 for the scrubber itself, with secrets of the lengths and alphabets the real systems
 * issue (all well under 64 characters), in the forms they take inside messages, URLs, form
 * bodies, JSON and Basic headers.
 */
const TOKENS = {
  // Okta SSWS API token: 42 characters, "00" then letters, digits, - and _.
  okta: '00aBcDeFgHiJkLmN-oPqRsTuVwXyZ_0123456789Ab',
  // Docker SCIM token, in the dckr_ style of Docker's access tokens: 37 characters.
  docker: 'dckr_scim_Xy7Qm2LpR8vTn4Kd0WbHs9JcEfA',
  // Entra client secret: 40 characters with ~ and . as the portal issues them.
  entra: 'Qv58Q~Ab3.dEfGh1IjK~lMnO2pQrS.tUvWx4YzAb',
  // An older Entra secret: punctuation that URL- and form-encoding treat differently ([ : @ ? = vs ~ !).
  'entra (legacy)': 'Jx7[kQ:2mR.@fT-]?wZ*8pL=nV~3bH_cY9dG!4sK',
} as const;

const cases = Object.entries(TOKENS).map(([system, token]) => ({ system, token }));

describe.each(cases)('the scrubber with a real-length $system secret', ({ token }) => {
  const scrub = scrubber([token]);
  const gone = (text: string) => {
    const out = scrub(text);
    expect(out).toContain('[redacted]');
    // Nothing of the secret survives: no run of 8 of its characters is left.
    for (let i = 0; i + 8 <= token.length; i++) expect(out).not.toContain(token.slice(i, i + 8));
    return out;
  };

  it('is longer than the scrubber minimum and shorter than 64', () => {
    expect(token.length).toBeGreaterThanOrEqual(30);
    expect(token.length).toBeLessThan(64);
  });

  it('inside a longer message', () => {
    expect(gone(`GET /api/v1/apps failed: upstream echoed "Authorization: SSWS ${token}" (attempt 2 of 4)`)).toBe(
      'GET /api/v1/apps failed: upstream echoed "Authorization: SSWS [redacted]" (attempt 2 of 4)',
    );
  });

  it('URL-encoded in a query string', () => {
    gone(`redirected to https://evil.example/collect?t=${encodeURIComponent(token)}&next=1`);
  });

  it('form-encoded in a token request body (~ becomes %7E there)', () => {
    gone(`grant_type=client_credentials&${new URLSearchParams({ client_secret: token }).toString()}&scope=x`);
  });

  it('base64, alone and inside a Basic header at any offset', () => {
    gone(`x-debug: ${Buffer.from(token).toString('base64')}`);
    for (const user of ['a', 'ab', 'abc', '0oa5serviceapp']) {
      const header = `Authorization: Basic ${Buffer.from(`${user}:${token}`).toString('base64')}`;
      const out = scrub(header);
      expect(out, user).toContain('[redacted]');
      expect(out.length, user).toBeLessThan(header.length - 20);
    }
  });

  it('JSON-escaped inside a log line or a JSON report', () => {
    const line = JSON.stringify({ msg: `token "${token}" refused`, detail: { echoed: token } });
    const out = gone(line);
    expect(() => JSON.parse(out)).not.toThrow();
  });

  it('cut short by a report cell that ends in an ellipsis', () => {
    expect(gone(`  update  ada@example.com  familyName: "Lovelace" → "${token.slice(0, 29)}…  changed in Okta`)).toContain('→ "[redacted]…');
  });

  it('in a real pino log line, whatever field it hides in', () => {
    const logs = captureLogs('debug', [token]);
    logs.logger.warn({ remote: { detail: `bad token ${token}` }, url: `https://x/?q=${encodeURIComponent(token)}` }, `request failed with ${token}`);
    expect(logs.text()).not.toContain(token);
    expect(logs.text()).not.toContain(encodeURIComponent(token));
    expect(logs.text()).toContain('[redacted]');
  });
});

describe('the scrubber with a JWK private key (OKTA_PRIVATE_KEY)', () => {
  const d = 'X9kL2mQ7vR4tY8wZ1aB5cD3eF6gH0jK9lM2nP4qS7uV1xW3yA5bC8dE0fG2hJ4kL';
  const jwk = JSON.stringify({ kty: 'RSA', kid: 'docker-sync-2026', n: 'sXch', e: 'AQAB', d, p: '4kL2mQ7vR4tY8wZ1aB5cD3eF6gH0jK9l', q: '9lM2nP4qS7uV1xW3yA5bC8dE0fG2hJ4kL' });
  const scrub = scrubber([jwk]);

  it('JSON-escaped inside a JSON log line', () => {
    const line = JSON.stringify({ msg: 'cannot sign the client assertion', key: jwk });
    expect(line).toContain('\\"d\\"');
    expect(scrub(line)).toBe(JSON.stringify({ msg: 'cannot sign the client assertion', key: '[redacted]' }));
  });

  it('re-serialised in another order, its private members are still redacted', () => {
    const parsed = JSON.parse(jwk) as Record<string, string>;
    const out = scrub(JSON.stringify({ d: parsed.d, kty: parsed.kty, p: parsed.p }, null, 2));
    expect(out).not.toContain(d);
    expect(out).not.toContain(parsed.p);
    expect(out).toContain('"kty": "RSA"');
  });
});

describe('the scrubber leaves ordinary text alone', () => {
  it('ignores values too short to be secrets, and text that only resembles one', () => {
    const scrub = scrubber(['abc', TOKENS.docker]);
    expect(scrub('abc def: dckr_scim_ is a prefix, Lovelace… is clipped')).toBe('abc def: dckr_scim_ is a prefix, Lovelace… is clipped');
  });
});
