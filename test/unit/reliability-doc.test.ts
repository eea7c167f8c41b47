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

/** Section D's rows each name a test file and a test: the file exists and holds that test's name. */
describe('docs/reliability.md section D (hardening)', () => {
  const doc = readFileSync(new URL('../../docs/reliability.md', import.meta.url), 'utf8');
  const section = doc.slice(doc.indexOf('## D. '), doc.indexOf('## Reliability guarantees proven elsewhere'));
  const rows = [...section.matchAll(/^\|.*\| `(test\/[^`]+\.test\.ts)` › (.+?) \|$/gm)].map((m) => ({ file: m[1] as string, name: (m[2] as string).trim() }));

  it('has a row for every class of issue 13', () => {
    expect(rows.length).toBeGreaterThanOrEqual(35);
    for (const heading of ['Where requests may go', 'Reads that never end', 'What an answer may claim', 'The state file', 'Secrets, files and what the admin sees']) expect(section).toContain(`### ${heading}`);
  });

  it.each(rows.map((r) => [`${r.file} › ${r.name}`, r] as const))('%s exists', (_label, { file, name }) => {
    const source = readFileSync(new URL(`../../${file}`, import.meta.url), 'utf8');
    // Names are quoted as written in the test, up to where a row shortens them.
    expect(source.replace(/\\'/g, "'")).toContain(name);
  });
});
