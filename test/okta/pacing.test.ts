import { afterEach, describe, expect, it } from 'vitest';
import { RateGate, bucketOf } from '../../src/sources/okta/pacing.ts';
import { routeTemplate } from '../../src/sources/okta/executor.ts';
import { startFixture, type Fixture } from './setup.ts';

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

describe('pacing by X-Rate-Limit-Remaining', () => {
  it('waits for the window to reset instead of collecting 429s', async () => {
    // Three requests per one-second window in each bucket. The read needs four in the apps
    // bucket (three pages of users, one of groups) and five in the groups bucket (five org:team
    // groups, read four at a time).
    fx = await startFixture({ users: 1_100, emulator: { rateLimit: { perMinute: 3, windowMs: 1_000 } } });
    for (const team of ['ops', 'web', 'ml']) fx.dir.addMember(fx.dir.addGroup(`acme:${team}`).id, 'user1@example.com');

    const snap = await fx.source().read();
    expect(snap.users).toHaveLength(1_105);
    expect(fx.emu.http.count({ status: 429 })).toBe(0);
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(3);
    expect(fx.emu.http.count({ route: 'listGroupUsers' })).toBe(5);

    // Which buckets had to pause depends on how fast the machine is (a slow one sees a window
    // reset on its own), so only the zero 429s above and the spacing below are required.
    const pauses = fx.logs.lines.filter((l) => l.msg === 'okta rate limit nearly used; pausing until the window resets');
    for (const p of pauses) expect(p).toMatchObject({ level: 'info', limit: 3, bucket: expect.stringMatching(/^(apps|groups)$/) });

    // The fourth request in the apps bucket came after its window reset.
    const apps = fx.emu.http.requests.filter((r) => r.route === 'listAppUsers' || r.route === 'listAppGroups');
    expect((apps[3] as { at: number }).at - (apps[0] as { at: number }).at).toBeGreaterThanOrEqual(1_000);
  });
});

describe('rate-limit buckets (okta.md §3.1)', () => {
  it.each([
    ['/api/v1/apps/0oa1/users', 'apps'],
    ['/api/v1/apps/0oa1/groups', 'apps'],
    ['/api/v1/apps/0oa1', 'app'],
    ['/api/v1/groups/00g1/users', 'groups'],
    ['/api/v1/users/00u1', 'users'],
    ['/oauth2/v1/token', 'oauth'],
    ['/api/v1/logs', 'other'],
  ])('%s → %s', (path, bucket) => {
    expect(bucketOf(path)).toBe(bucket);
  });

  it.each([
    ['/api/v1/apps/0oa1/users', '/api/v1/apps/{appId}/users'],
    ['/api/v1/apps/0oa1/users/00u2', '/api/v1/apps/{appId}/users/{id}'],
    ['/api/v1/groups/00g1/users', '/api/v1/groups/{groupId}/users'],
    ['/oauth2/v1/token', '/oauth2/v1/token'],
  ])('logs %s as %s', (path, template) => {
    expect(routeTemplate(path)).toBe(template);
  });
});

describe('RateGate', () => {
  it('lets one request learn an unknown bucket before sending more', async () => {
    const gate = new RateGate();
    await gate.acquire('groups', undefined, () => {});
    let second = false;
    const pending = gate.acquire('groups', undefined, () => {}).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    gate.settle('groups', { limit: 100, remaining: 99, resetInMs: 60_000 });
    await pending;
    expect(second).toBe(true);
  });

  it('waits when what is left is within the reserve, and goes on once the window has passed', async () => {
    const gate = new RateGate();
    await gate.acquire('apps', undefined, () => {});
    gate.settle('apps', { limit: 20, remaining: 2, resetInMs: 50 });
    const waits: number[] = [];
    const started = Date.now();
    await gate.acquire('apps', undefined, (ms) => waits.push(ms));
    expect(waits).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('keeps a reserve of at most two, and none for tiny limits', () => {
    expect([3, 10, 20, 100, 600].map((l) => RateGate.reserve(l))).toEqual([0, 1, 2, 2, 2]);
  });
});
