import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { makeSampleReport, SAMPLE_PATH } from '../../scripts/sample-report.ts';

/** docs/sample-dry-run.md is what the product prints today, not what it printed once. */
describe('the sample dry-run report in docs/', () => {
  it('is exactly what the demo company\'s dry run prints now (npm run sample-report rewrites it)', async () => {
    const now = await makeSampleReport();
    expect(now, 'docs/sample-dry-run.md is out of date: run `npm run sample-report` and review the change').toBe(readFileSync(SAMPLE_PATH, 'utf8'));
    // A sample worth reading: creates, an adoption, team changes, held users and an unmanaged account.
    for (const part of ['`create`', '`adopt`', '`team-add`', '`INVALID_EMAIL`', '`UNMANAGED_ACCOUNT`', 'Seats acme']) expect(now).toContain(part);
  }, 60_000);
});
