import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

/**
 * TLS verification is never disabled, anywhere in the product: trust is added (a CA), never
 * removed. A grep is the honest test for a "never".
 */
function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

describe('TLS policy', () => {
  const src = new URL('../../src', import.meta.url).pathname;
  // Code only: comments may say what the code never does.
  const code = (text: string) => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
  const all = files(src).map((f) => ({ f, text: code(readFileSync(f, 'utf8')) }));

  it.each([
    ['rejectUnauthorized: false', /rejectUnauthorized\s*:\s*false/],
    ['NODE_TLS_REJECT_UNAUTHORIZED', /NODE_TLS_REJECT_UNAUTHORIZED/],
    ['checkServerIdentity overrides', /checkServerIdentity/],
    ['insecure flags', /\b(insecure|allowInsecure|disableTlsVerification|strictSSL\s*:\s*false)\b/i],
  ])('no source file contains %s', (_name, pattern) => {
    const hits = all.filter(({ text }) => pattern.test(text)).map(({ f }) => f);
    expect(hits).toEqual([]);
  });

  it('the scan covers the product (a sanity check that cannot pass on an empty tree)', () => {
    expect(all.length).toBeGreaterThan(50);
    expect(all.some(({ f }) => f.endsWith('sources/entra/client.ts'))).toBe(true);
  });
});
