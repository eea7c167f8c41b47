import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startDemoWorld } from '../src/commands/demo.ts';
import { loadConfig } from '../src/config/load.ts';
import { createLogger } from '../src/logging/logger.ts';
import { scrubber } from '../src/logging/scrub.ts';
import { renderReport } from '../src/report/index.ts';
import { syncOnce } from '../src/run/once.ts';

/**
 * docs/sample-dry-run.md: the demo's first step, `sync --dry-run --format markdown`, as an admin
 * would see it before the tool has ever written anything. test/e2e/sample-report.test.ts makes it
 * again and compares, so the sample cannot drift from what the product prints.
 *
 *   npm run sample-report        rewrites the file
 */

export const SAMPLE_PATH = new URL('../docs/sample-dry-run.md', import.meta.url).pathname;

/** A fixed time for the title line, so the file changes only when the report does. */
const GENERATED_AT = '2026-12-01T09:00:00.000Z';

const PREFACE = `<!-- Made by \`npm run sample-report\` from the demo's company (seed 2026, Okta); test/e2e/sample-report.test.ts keeps it current. -->

This is what \`docker-idp-sync sync --dry-run --format markdown\` prints for the demo's company
(\`npm run demo\`, step 1) before anything was ever written to Docker: 20 people in Okta, a few of
them with broken records, and two accounts already in Docker (one the IdP claims, one nobody does).
[report-format.md](report-format.md) explains every part; [troubleshooting.md](troubleshooting.md)
every code.

`;

export async function makeSampleReport(): Promise<string> {
  const world = await startDemoWorld('okta');
  const dir = mkdtempSync(join(tmpdir(), 'docker-idp-sync-sample-'));
  try {
    const config = loadConfig({ env: { ...world.env, STATE_DB: join(dir, 'state.db'), LOG_LEVEL: 'silent' } });
    const scrub = scrubber(config.secrets);
    const outcome = await syncOnce({ config, logger: createLogger({ level: 'silent' }), scrub }, { dryRun: true, mode: 'full' });
    const report = renderReport('markdown', { plan: outcome.plan, generatedAt: GENERATED_AT, dryRun: true });
    // The emulators listen on ports of the moment; no URL belongs in a sample.
    return PREFACE + scrub(report).replace(/http:\/\/127\.0\.0\.1:\d+/g, 'http://127.0.0.1:PORT');
  } finally {
    await world.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] === new URL(import.meta.url).pathname) {
  const text = await makeSampleReport();
  const before = (() => {
    try {
      return readFileSync(SAMPLE_PATH, 'utf8');
    } catch {
      return '';
    }
  })();
  writeFileSync(SAMPLE_PATH, text);
  process.stdout.write(`${SAMPLE_PATH}: ${before === text ? 'unchanged' : 'written'}\n`);
}
