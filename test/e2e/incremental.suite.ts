import { afterEach, describe, expect, it } from 'vitest';
import type { FaultAction } from '../../src/sandbox/http/faults.ts';
import type { WorldSource } from '../../src/sandbox/world.ts';
import { Scenario, startSyncedWithCursor, type InProcessRun } from '../support/harness.ts';
import { seedPeople } from '../support/people.ts';

/**
 * Incremental runs end to end, for each source (DESIGN.md invariant 11): the change feed carries
 * every kind of IdP change to Docker, reading only the users it names; a feed that cannot be read
 * whole stops the run before planning; an expired cursor or a change that cannot be followed user
 * by user makes the run read everything; not being named is never taken for being unassigned.
 */

export interface FeedFaults {
  /** The emulator route that serves the feed (first request of `changesSince`). */
  readonly route: string;
  /** The answer the IdP gives for a cursor it no longer knows. */
  readonly expired: () => FaultAction;
}

const serverError: FaultAction = { type: 'status', status: 500, body: { error: 'boom' } };

export function incrementalSuite(source: WorldSource, faults: FeedFaults): void {
  describe(`incremental runs (${source})`, () => {
    let s: Scenario;
    afterEach(async () => {
      await s?.stop();
    });

    /** A world synced by a run that keeps a cursor: what the daemon's first run leaves. */
    async function synced(): Promise<Scenario> {
      let first: InProcessRun;
      ({ s, first } = await startSyncedWithCursor({ source }));
      expect(first.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/no full run has succeeded/) });
      return s;
    }

    const idpRequests = () => s.world.idp.requests.length;
    const dockerUser = (userName: string) => s.docker.user(userName);
    /** A full dry run after the incremental one: it must find nothing left to do. */
    async function convergedLikeAFullRun(): Promise<void> {
      const check = await s.sync({ dryRun: true });
      expect(check.plan.coverage?.mode).toBe('full');
      expect(check.plan.operations.map((o) => o.id)).toEqual([]);
    }

    it('carries each kind of IdP change to Docker, reading only the users the feed names', async () => {
      await synced();
      const fullReadRequests = (() => {
        const before = idpRequests();
        return async () => {
          await s.sync({ dryRun: true });
          return idpRequests() - before;
        };
      })();
      const full = await fullReadRequests();

      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.directory.setAttribute('alan@example.com', 'dockerRole', 'editor');
      s.directory.updateUser('edsger@example.com', { assigned: false });
      s.directory.updateUser('barbara@example.com', { enabled: false });
      s.directory.addMember('acme:platform', 'ada@example.com');
      s.directory.removeMember('acme:platform', 'grace@example.com');
      s.directory.addUser({ email: 'linus@example.com', givenName: 'Linus', familyName: 'Torvalds' });

      const before = idpRequests();
      const run = await s.sync({ incremental: true });
      const used = idpRequests() - before;
      // Six people changed; a feed may name a few more (Okta's cursor starts a little before the
      // full run, so the first incremental run re-reads the last minutes' changes: hints, not facts).
      expect(run.plan.coverage).toEqual({ mode: 'incremental', users: expect.any(Number), dockerListed: expect.any(Boolean) });
      expect(run.plan.coverage?.mode === 'incremental' && run.plan.coverage.users).toBeGreaterThanOrEqual(6);
      expect(run.outcome.result.status).toBe('succeeded');
      // The report says so, in every format.
      expect((JSON.parse(run.report('json')) as { coverage: unknown }).coverage).toEqual(run.plan.coverage);
      expect(run.report('text')).toMatch(/Incremental run: \d+ IdP users named by the change feed/);
      expect(dockerUser('ada@example.com')?.familyName).toBe('King');
      expect(dockerUser('alan@example.com')?.role).toBe('editor');
      expect(dockerUser('edsger@example.com')?.active).toBe(false);
      expect(dockerUser('barbara@example.com')?.active).toBe(false);
      expect(dockerUser('linus@example.com')?.active).toBe(true);
      // Everyone else was neither read nor written.
      const touched = run.plan.operations.flatMap((o) => ('userName' in o ? [o.userName] : o.kind === 'group-create' ? [] : o.members.map((m) => m.userName)));
      expect(new Set(touched)).toEqual(new Set(['ada@example.com', 'alan@example.com', 'edsger@example.com', 'barbara@example.com', 'grace@example.com', 'linus@example.com']));
      // A few requests a user, not a whole read (at this size a full read is only a handful of pages).
      expect(used).toBeLessThan(full + 6 * 4);
      await convergedLikeAFullRun();

      // Nothing changed since: a run that reads the feed and nothing else.
      const idle = await s.sync({ incremental: true });
      expect(idle.plan.coverage).toMatchObject({ mode: 'incremental', users: 0 });
      expect(idle.writes).toBe(0);
    });

    it('11: a user the feed does not name is not read, and is never taken for unassigned', async () => {
      await synced();
      await s.sync({ incremental: true });
      // Unassigned behind the feed's back: no event, as if the IdP had lost it.
      s.directory.user('ken@example.com').assigned = false;
      for (const g of s.directory.groups.values()) g.members.delete(s.directory.user('ken@example.com').id);
      const run = await s.sync({ incremental: true });
      expect(run.plan.coverage?.mode).toBe('incremental');
      expect(run.writes).toBe(0);
      expect(dockerUser('ken@example.com')?.active).toBe(true);
      // The full run, the source of truth, sees it.
      const full = await s.sync();
      expect(full.plan.operations.map((o) => o.kind)).toContain('deactivate');
    });

    it('11: a feed that cannot be read whole stops the run before planning; nothing is written and the cursor stays', async () => {
      await synced();
      s.directory.updateUser('edsger@example.com', { assigned: false });
      const cursor = s.state((st) => st.feedMark().cursor);
      s.world.idp.faults.add({ route: faults.route, times: Infinity, action: serverError });
      const writes = s.docker.http.writes().length;
      await expect(s.sync({ incremental: true, env: { IDP_MAX_RETRIES: '1' } })).rejects.toThrow();
      expect(s.docker.http.writes().length).toBe(writes);
      expect(s.state((st) => st.feedMark().cursor)).toBe(cursor);
      s.world.idp.faults.clear();
      const again = await s.sync({ incremental: true });
      expect(again.plan.coverage?.mode).toBe('incremental');
      expect(dockerUser('edsger@example.com')?.active).toBe(false);
    });

    it('11: an expired cursor makes the run read everything, and say why', async () => {
      await synced();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.world.idp.faults.add({ route: faults.route, action: faults.expired() });
      const run = await s.sync({ incremental: true });
      expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/no longer valid/) });
      expect(run.logs.join('\n')).toContain('reading everything');
      expect(dockerUser('ada@example.com')?.familyName).toBe('King');
      // And a fresh cursor is kept: the next run is incremental again.
      const next = await s.sync({ incremental: true });
      expect(next.plan.coverage?.mode).toBe('incremental');
    });

    it('a run that lists Docker for drift and then must read everything lists Docker once, not twice', async () => {
      await synced();
      s.world.idp.faults.add({ route: faults.route, action: faults.expired() });
      const before = s.docker.http.requests.length;
      const run = await s.sync({ incremental: true, env: { VERIFY_EVERY: '0s' } });
      expect(run.plan.coverage?.mode).toBe('full');
      const listings = s.docker.http.requests.slice(before).filter((r) => r.route === 'listUsers' && !new URLSearchParams(r.query).has('filter'));
      expect(listings).toHaveLength(1);
    });

    it('a group assigned to the app makes the run read everything: its members are not followed one by one', async () => {
      await synced();
      s.directory.setGroupAssigned('Docker Users', false);
      const run = await s.sync({ incremental: true });
      expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/group/) });
      await convergedLikeAFullRun();
    });

    it('5: a dry incremental run leaves the state file byte for byte as it was', async () => {
      await synced();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      const hash = s.stateHash();
      const run = await s.sync({ incremental: true, dryRun: true });
      expect(run.plan.coverage?.mode).toBe('incremental');
      expect(run.plan.operations.map((o) => o.kind)).toEqual(['update']);
      expect(s.stateHash()).toBe(hash);
      expect(run.writes).toBe(0);
    });

    it('a run that failed part-way moves on, and the next incremental run retries whom it left unfinished', async () => {
      await synced();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.docker.http.faults.add({ route: 'replaceUser', times: Infinity, action: serverError });
      const failed = await s.sync({ incremental: true, env: { DOCKER_MAX_RETRIES: '0' } });
      expect(failed.outcome.result.status).toBe('partial');
      const ada = s.directory.user('ada@example.com').id;
      expect(s.state((st) => st.feedMark().retry)).toEqual([ada]);
      s.docker.http.faults.clear();
      // The feed names nobody now; Ada is read again because the last run left her unfinished.
      const retried = await s.sync({ incremental: true });
      expect(retried.plan.coverage?.mode).toBe('incremental');
      expect(dockerUser('ada@example.com')?.familyName).toBe('King');
      expect(s.state((st) => st.feedMark().retry)).toEqual([]);
    });

    it('a write that keeps failing does not turn every later run into a full one', async () => {
      await synced();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.docker.http.faults.add({ route: 'replaceUser', times: Infinity, action: serverError });
      for (let i = 0; i < 3; i++) {
        const run = await s.sync({ incremental: true, env: { DOCKER_MAX_RETRIES: '0' } });
        expect(run.plan.coverage?.mode).toBe('incremental');
        expect(run.outcome.result.status).toBe('partial');
      }
      // Nor does a full run that ended partial leave incremental runs off for good: it counts as
      // the full run FULL_SYNC_EVERY asks for, and whom it left unfinished is retried.
      const fullBefore = s.state((st) => st.feedMark().fullAt);
      const full = await s.sync({ env: { DOCKER_MAX_RETRIES: '0' } });
      expect(full.outcome.result.status).toBe('partial');
      expect(s.state((st) => st.feedMark().fullAt)).not.toBe(fullBefore);
      const next = await s.sync({ incremental: true, env: { DOCKER_MAX_RETRIES: '0' } });
      expect(next.plan.coverage?.mode).toBe('incremental');
    });

    it('an email handed on: the new holder, put off while the old one is renamed, is created by the next incremental run', async () => {
      await synced();
      await s.sync({ incremental: true });
      s.directory.updateUser('ada@example.com', { email: 'ada.king@example.com' });
      s.directory.addUser({ email: 'ada@example.com', givenName: 'Ada', familyName: 'Byron' });
      const first = await s.sync({ incremental: true });
      expect(first.plan.findings.map((f) => f.code)).toContain('USERNAME_PENDING');
      expect(dockerUser('ada.king@example.com')?.familyName).toBe('Lovelace');
      const second = await s.sync({ incremental: true });
      expect(second.plan.coverage?.mode).toBe('incremental');
      expect(dockerUser('ada@example.com')?.familyName).toBe('Byron');
      await convergedLikeAFullRun();
    });

    it('--no-deactivate on an incremental run: the leaver is deactivated by the next run without it', async () => {
      await synced();
      await s.sync({ incremental: true });
      s.directory.updateUser('alan@example.com', { assigned: false });
      const held = await s.sync({ incremental: true, noDeactivate: true });
      expect(held.plan.operations.find((o) => o.kind === 'deactivate')?.blocked).toBe('deactivation-disabled');
      expect(dockerUser('alan@example.com')?.active).toBe(true);
      await s.sync({ incremental: true });
      expect(dockerUser('alan@example.com')?.active).toBe(false);
    });

    it('apply of a saved plan: a change made after the review is left out, and the next incremental run applies it', { timeout: 60_000 }, async () => {
      await synced();
      const file = `${s.dir}/plan.json`;
      expect((await s.cli(['plan', '--out', file])).code).toBe(0);
      s.directory.updateUser('grace@example.com', { familyName: 'Murray' });
      const applied = await s.cli(['apply', file]);
      expect(applied.code).toBe(0);
      expect(dockerUser('grace@example.com')?.familyName).toBe('Hopper');
      const next = await s.sync({ incremental: true });
      expect(next.plan.coverage?.mode).toBe('incremental');
      expect(dockerUser('grace@example.com')?.familyName).toBe('Murray');
    });

    it('VERIFY_EVERY: a managed account changed in Docker by hand is put right when Docker is listed, not before', async () => {
      await synced();
      // One incremental run first: whatever the feed's start still names is behind us.
      await s.sync({ incremental: true });
      // Deactivated in Docker by hand, not through the tool.
      const ada = dockerUser('ada@example.com');
      if (!ada) throw new Error('ada was not created');
      s.docker.editUser(ada.id, { active: false });
      const quiet = await s.sync({ incremental: true, env: { VERIFY_EVERY: '1d' } });
      expect(quiet.plan.coverage).toMatchObject({ mode: 'incremental', dockerListed: false });
      expect(quiet.writes).toBe(0);
      expect(dockerUser('ada@example.com')?.active).toBe(false);
      const verify = await s.sync({ incremental: true, env: { VERIFY_EVERY: '0s' } });
      expect(verify.plan.coverage).toMatchObject({ mode: 'incremental', users: 1, dockerListed: true });
      expect(verify.plan.operations.map((o) => o.kind)).toContain('reactivate');
      expect(dockerUser('ada@example.com')?.active).toBe(true);
    });

    it('a run with nothing to reconcile still fails when Docker is down, so the daemon alerts now, not at the next change', async () => {
      await synced();
      await s.sync({ incremental: true });
      // Such a run reads nothing of Docker's users; the discovery that opens every run is what fails.
      s.docker.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 503 } });
      await expect(s.sync({ incremental: true, env: { DOCKER_MAX_RETRIES: '0' } })).rejects.toThrow(/503/);
      s.docker.http.faults.clear();
      const ok = await s.sync({ incremental: true });
      expect(ok.plan.coverage).toMatchObject({ mode: 'incremental' });
    });

    it('status says whether the feed is followed, who is left unfinished, and which runs were incremental', async () => {
      await synced();
      s.directory.updateUser('ada@example.com', { familyName: 'King' });
      s.docker.http.faults.add({ route: 'replaceUser', times: Infinity, action: serverError });
      await s.sync({ incremental: true, env: { DOCKER_MAX_RETRIES: '0' } });
      const json = await s.cli(['status', '--format', 'json']);
      expect(json.code).toBe(0);
      const doc = JSON.parse(json.stdout) as { incremental: { cursor: boolean; lastFullRun: string | null; unfinished: number } };
      expect(doc.incremental).toMatchObject({ cursor: true, lastFullRun: expect.any(String), unfinished: 1 });
      const text = await s.cli(['status']);
      expect(text.stdout).toMatch(/^Feed: +following the IdP's change feed; last full run \S+, Docker last listed whole \S+; 1 user left unfinished, read again next run$/m);
      expect(text.stdout).toMatch(/ partial .* · incremental · 0 ok, 1 failed/);
    });

    it('FULL_SYNC_EVERY=0: every run is full, and the change feed is never asked', async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      for (let i = 0; i < 2; i++) {
        const run = await s.sync({ incremental: true, env: { FULL_SYNC_EVERY: '0' } });
        expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/FULL_SYNC_EVERY=0/) });
        expect(run.plan.findings.map((f) => f.code)).not.toContain('FEED_UNAVAILABLE');
      }
      expect(s.world.idp.requests.filter((r) => r.route === faults.route)).toEqual([]);
    });

    it('a feed the credentials may not read leaves runs full, and every report says why', async () => {
      s = await Scenario.start({ source });
      seedPeople(s.directory);
      s.world.idp.faults.add({ route: faults.route, times: Infinity, action: { type: 'status', status: 403, body: { error: 'forbidden' } } });
      const run = await s.sync({ incremental: true, env: { IDP_MAX_RETRIES: '0' } });
      expect(run.outcome.result.status).toBe('succeeded');
      expect(run.plan.findings).toContainEqual(expect.objectContaining({ code: 'FEED_UNAVAILABLE', severity: 'warning' }));
      expect(s.state((st) => st.feedMark().cursor)).toBeNull();
      const next = await s.sync({ incremental: true, env: { IDP_MAX_RETRIES: '0' } });
      expect(next.plan.coverage?.mode).toBe('full');
    });

    it('FULL_SYNC_EVERY: once it has passed, the run reads everything', async () => {
      await synced();
      const run: InProcessRun = await s.sync({ incremental: true, env: { FULL_SYNC_EVERY: '1ms' } });
      expect(run.plan.coverage).toMatchObject({ mode: 'full', reason: expect.stringMatching(/FULL_SYNC_EVERY=1ms/) });
    });
  });
}
