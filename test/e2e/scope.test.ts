import { describe, expect, it } from 'vitest';
import type { RequestRecord } from '../../src/sandbox/http/emulator.ts';
import { WORLD_SOURCES } from '../../src/sandbox/world.ts';
import { scenarioPerTest } from '../support/harness.ts';
import { EXPECTED, seedPeople } from '../support/people.ts';

/**
 * What Docker's SSO connection covers (DOCKER_VERIFIED_DOMAINS, DOCKER_ORGS): a user or team
 * outside it is a finding before any write, never a Docker error after it, and what the tool
 * applied there before is left alone.
 */

const TIMEOUT = 60_000;

/** Write requests whose body names this userName (a user write, or anything else that would). */
function writesAbout(records: RequestRecord[], userName: string): RequestRecord[] {
  return records.filter((r) => JSON.stringify(r.body ?? {}).toLowerCase().includes(`"${userName}"`));
}

describe.each(WORLD_SOURCES)('what the SSO connection covers (%s)', (source) => {
  describe('verified domains', () => {
    // Docker refuses the other domain outright, so a write that slipped through would show.
    const s = scenarioPerTest({ source, docker: { verifiedDomains: ['example.com'] } }, (sc) => {
      seedPeople(sc.directory);
      sc.directory.addUser({ email: 'mallory@elsewhere.org', givenName: 'Mallory', familyName: 'Out' });
    });

    it(
      'DOCKER_VERIFIED_DOMAINS: the out-of-domain user gets no write request and an error finding; everyone else is synced',
      async () => {
        const run = await s.sync({ env: { DOCKER_VERIFIED_DOMAINS: 'example.com' } });
        expect(writesAbout(s.docker.http.writes(), 'mallory@elsewhere.org')).toEqual([]);
        expect(s.docker.http.writes().filter((r) => r.status === 403)).toEqual([]);
        expect(run.plan.findings.filter((f) => f.subject === 'mallory@elsewhere.org')).toEqual([expect.objectContaining({ code: 'UNVERIFIED_DOMAIN', severity: 'error' })]);
        for (const [userName, want] of Object.entries(EXPECTED.users)) expect(s.docker.user(userName), userName).toMatchObject(want);
        expect(s.docker.user('mallory@elsewhere.org')).toBeUndefined();
        // Held, not failed: the run applied everything it planned.
        expect(run.outcome.result.results.every((r) => r.status === 'succeeded')).toBe(true);
        expect((await s.sync({ env: { DOCKER_VERIFIED_DOMAINS: 'example.com' } })).writes).toBe(0);
      },
      TIMEOUT,
    );
  });

  describe('organizations', () => {
    const s = scenarioPerTest({ source }, (sc) => {
      seedPeople(sc.directory);
      sc.directory.addGroup('acmelabs:data').members.add(sc.directory.user('grace@example.com').id);
    });
    const acmeOnly = { DOCKER_ORGS: 'acme' };

    it(
      'DOCKER_ORGS: a user of another org is held and a team group of another org dropped, with findings and no writes for them; a team applied there before is never removed',
      async () => {
        const run = await s.sync({ env: acmeOnly });
        const writes = s.docker.http.writes();
        // alan (dockerOrg acmelabs) and edsger (acmelabs:research): held, nothing sent.
        for (const userName of ['alan@example.com', 'edsger@example.com']) {
          expect(writesAbout(writes, userName), userName).toEqual([]);
          expect(run.plan.findings.filter((f) => f.subject === userName), userName).toEqual([expect.objectContaining({ code: 'ORG_OUT_OF_SCOPE', severity: 'error' })]);
        }
        // acmelabs:data: one finding for the group, no team request; grace synced without it.
        expect(run.plan.findings.filter((f) => f.subject === 'acmelabs:data')).toEqual([expect.objectContaining({ code: 'ORG_OUT_OF_SCOPE', message: expect.stringContaining('1 member') })]);
        expect(writes.filter((r) => r.path.includes('/Groups') && JSON.stringify(r.body ?? {}).includes('acmelabs'))).toEqual([]);
        expect(s.docker.groupNames().filter((g) => g.startsWith('acmelabs'))).toEqual([]);
        for (const userName of ['ada@example.com', 'grace@example.com', 'barbara@example.com', 'ken@example.com']) {
          expect(s.docker.user(userName), userName).toMatchObject(EXPECTED.users[userName as keyof typeof EXPECTED.users]);
        }
        expect(s.docker.teamMembers('acme:platform')).toEqual(['barbara@example.com', 'grace@example.com']);

        // The connection covered acmelabs once: the tool put grace in acmelabs:data and managed alan.
        await s.sync();
        expect(s.docker.teamMembers('acmelabs:data')).toEqual(['grace@example.com']);
        const alan = s.docker.user('alan@example.com');
        // Now it does not: grace leaves the group in the IdP and alan is made an editor; neither is touched there.
        s.directory.group('acmelabs:data').members.clear();
        s.directory.updateUser('alan@example.com', { attributes: { dockerOrg: 'acmelabs', dockerRole: 'editor' } });
        const since = s.docker.http.writes().length;
        const scoped = await s.sync({ env: acmeOnly });
        expect(scoped.plan.operations).toEqual([]);
        expect(s.docker.http.writes().length - since).toBe(0);
        expect(s.docker.teamMembers('acmelabs:data')).toEqual(['grace@example.com']);
        expect(s.docker.user(alan?.id as string)).toMatchObject({ active: true, role: 'member', org: 'acmelabs' });
      },
      TIMEOUT,
    );

    it(
      'a DOCKER_ORGS entry Docker cannot have is refused at start, naming the key',
      async () => {
        const bad = await s.cli(['validate-config'], { env: { DOCKER_ORGS: 'acme,acme_' } });
        expect(bad.code).toBe(1);
        expect(bad.stderr).toContain('DOCKER_ORGS');
        expect(bad.stderr).toContain('"acme_" is not a Docker organization name');
      },
      TIMEOUT,
    );
  });
});
