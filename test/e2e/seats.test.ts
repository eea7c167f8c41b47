import { afterEach, describe, expect, it } from 'vitest';
import { Scenario } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';

/**
 * Seats: the plan says what each org will take before anything is sent, and when Docker runs out,
 * the report says so once per org with the number of seats missing, not once per account.
 */
describe('seats', () => {
  let s: Scenario;
  afterEach(async () => {
    await s.stop();
  });

  it('the dry run shows the seats each org will take; a run that runs out says it once for the org, with the number missing', async () => {
    // acme gets four people (Ada, Grace, Barbara, Ken) and has one seat; acmelabs gets two.
    s = await Scenario.start({ source: 'okta', docker: { orgs: [{ name: 'acme', seatLimit: 1 }, { name: 'acmelabs' }] } });
    seedPeople(s.directory);

    const dry = await s.sync({ dryRun: true });
    const text = dry.report('text');
    expect(text).toContain('Seats acme: up to +4 (4 creates), net +4');
    expect(text).toContain('Seats acmelabs: up to +2 (2 creates), net +2');
    const doc = JSON.parse(dry.report('json'));
    expect(doc.seats).toEqual([
      { org: 'acme', creates: 4, reactivations: 0, movesIn: 0, movesOut: 0, deactivations: 0, peak: 4, net: 4 },
      { org: 'acmelabs', creates: 2, reactivations: 0, movesIn: 0, movesOut: 0, deactivations: 0, peak: 2, net: 2 },
    ]);

    const run = await s.sync();
    expect(run.outcome.result.status).toBe('partial');
    expect(run.outcome.result.results.filter((r) => r.error?.code === 'DOCKER_SEATS')).toHaveLength(3);
    expect(run.outcome.result.findings).toEqual([
      expect.objectContaining({ code: 'SEATS_EXHAUSTED', severity: 'error', subject: 'acme', message: expect.stringContaining('3 accounts could not be created or reactivated in acme') }),
    ]);
    const report = run.report('markdown');
    expect(report.match(/SEATS_EXHAUSTED/g)).toHaveLength(1);
    expect(report).toContain('Buy at least 3 more seats for acme');
    expect(JSON.parse(run.report('json')).resultFindings).toEqual([expect.objectContaining({ code: 'SEATS_EXHAUSTED', subject: 'acme' })]);
    expect(run.logs.some((l) => l.includes('"code":"SEATS_EXHAUSTED"'))).toBe(true);

    // The stored run reprints with it.
    const stored = await s.cli(['report', '--format', 'text']);
    expect(stored.stdout).toContain('SEATS_EXHAUSTED');
  });
});
