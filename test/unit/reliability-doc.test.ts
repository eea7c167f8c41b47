import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

/** docs/reliability.md claims only what the fault matrix measured: every measured row is on the page. */
describe('docs/reliability.md', () => {
  const doc = readFileSync(new URL('../../docs/reliability.md', import.meta.url), 'utf8');
  const data = JSON.parse(readFileSync(new URL('../../docs/reliability-counts.json', import.meta.url), 'utf8')) as {
    rows: Array<{ source: string; fault: string; test: string }>;
  };
  const tests = readFileSync(new URL('../e2e/faults.test.ts', import.meta.url), 'utf8');

  it('names every row of the last measured run (npm run reliability), for both sources', () => {
    expect(data.rows.length).toBeGreaterThan(40);
    expect(new Set(data.rows.map((r) => r.source))).toEqual(new Set(['okta', 'entra']));
    const page = doc.toLowerCase();
    const missing = data.rows.filter((r) => !page.includes(r.fault.toLowerCase())).map((r) => `${r.source}: ${r.fault}`);
    expect(missing).toEqual([]);
  });

  it('every measured row comes from a test that still exists', () => {
    for (const r of data.rows) expect(tests, r.fault).toContain(r.fault.split(' (')[0]?.slice(0, 30));
  });
});
