import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { SCIM_PREFIX } from '../../src/sandbox/docker/emulator.ts';
import { Scenario } from '../support/harness.ts';
import { rejectionOf } from '../support/logs.ts';
import { EXPECTED, seedPeople } from '../support/people.ts';
import { ForwardingProxy, Recorder, editJson, redirectTo, type Exchange } from '../support/proxy.ts';

/**
 * A hostile or broken Docker, end to end (issue 13): the product's own run, with Docker's SCIM
 * API reached through a man in the middle that rewrites answers or redirects requests, and a
 * Recorder standing for "elsewhere". What an admin must be able to rely on: nothing is written to
 * an account an answer merely names, nothing leaves for another server, and a read Docker cannot
 * vouch for stops the run before planning.
 */
describe('a hostile Docker, end to end', () => {
  let s: Scenario;
  let proxy: ForwardingProxy;
  let recorder: Recorder;
  let env: Record<string, string>;
  beforeEach(async () => {
    s = await Scenario.start();
    seedPeople(s.directory);
    proxy = new ForwardingProxy({ target: s.docker.baseUrl });
    recorder = new Recorder();
    await Promise.all([proxy.start(), recorder.start()]);
    env = { DOCKER_SCIM_BASE_URL: `${proxy.origin}${SCIM_PREFIX}` };
  });
  afterEach(async () => {
    await Promise.all([proxy.stop(), recorder.stop()]);
    await s.stop();
  });

  const postFor = (r: Exchange, userName: string) => r.method === 'POST' && r.url === `${SCIM_PREFIX}/Users` && (JSON.parse(r.body.toString('utf8')) as { userName?: string }).userName === userName;

  it('a create answered with another account\'s id: nothing reaches that account; the user is linked to their own', async () => {
    const mallory = s.docker.seedUser({ userName: 'mallory@example.com', givenName: 'Mallory', org: 'acmelabs', team: null });
    proxy.rewrite = (a, r) => (postFor(r, 'ada@example.com') && a.status === 201 ? editJson(a, (b) => ({ ...b, id: mallory.id, userName: mallory.userName })) : a);

    const run = await s.sync({ env });
    expect(run.outcome.result.status).toBe('succeeded');
    expect(run.logs.join('\n')).toMatch(/describes user mallory@example\.com/);

    // The other account: not written to, in no team, exactly as it was.
    const writes = s.docker.http.writes();
    expect(writes.filter((w) => w.path.endsWith(mallory.id) || JSON.stringify(w.body ?? '').includes(mallory.id))).toEqual([]);
    expect(s.docker.user(mallory.id)).toEqual(mallory);
    for (const team of s.docker.groupNames()) expect(s.docker.teamMembers(team), team).not.toContain('mallory@example.com');

    // Ada: linked to her own account, in her teams.
    const ada = s.docker.user('ada@example.com');
    expect(ada?.id).toBeDefined();
    const links = s.state((st) => st.links());
    expect(links.find((l) => l.userName === 'ada@example.com')?.dockerId).toBe(ada?.id);
    expect(links.map((l) => l.dockerId)).not.toContain(mallory.id);
    for (const [team, members] of Object.entries(EXPECTED.teams)) expect(s.docker.teamMembers(team), team).toEqual(members);

    proxy.reset();
    const again = await s.sync({ env });
    expect(again.plan.operations).toEqual([]);
  });

  it('the Docker listing redirected to another server: the run stops before planning and nothing goes there', async () => {
    proxy.intercept = (r) => (r.method === 'GET' && r.url.startsWith(`${SCIM_PREFIX}/Users?`) ? redirectTo(`${recorder.origin}${r.url}`, 302) : null);
    const err = await rejectionOf(s.sync({ env }));
    expect(err).toMatchObject({ code: 'DOCKER_REDIRECT', status: 302 });
    expect(recorder.requests).toEqual([]);
    expect(s.docker.http.writes()).toEqual([]);
    expect(s.state((st) => st.links())).toEqual([]);
  });

  it('creates redirected to another server fail clearly, nothing goes there, and the next run converges', async () => {
    proxy.intercept = (r) => (r.method === 'POST' && r.url === `${SCIM_PREFIX}/Users` ? redirectTo(`${recorder.origin}${r.url}`, 307) : null);
    const run = await s.sync({ env });
    const creates = run.outcome.result.results.filter((r) => r.kind === 'create');
    expect(creates.length).toBe(Object.keys(EXPECTED.users).length);
    for (const c of creates) expect(c).toMatchObject({ status: 'failed', error: { code: 'DOCKER_REDIRECT', status: 307 } });
    expect(run.report()).toMatch(/redirect \(HTTP 307\)/);
    expect(recorder.requests).toEqual([]);
    expect(s.docker.allUsers()).toEqual([]);

    // Not ambiguous: the next run simply creates them, once each.
    proxy.reset();
    const next = await s.sync({ env });
    expect(next.outcome.result.status).toBe('succeeded');
    expect(next.outcome.result.recovered).toEqual([]);
    expect(s.docker.allUsers().map((u) => u.userName).sort()).toEqual(Object.keys(EXPECTED.users).sort());
  });
});
