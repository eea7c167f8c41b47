import { afterEach, describe, expect, it } from 'vitest';
import { oktaError, oktaRequestId } from '../../src/sandbox/okta/faults.ts';
import { bucketOf, oktaPacer, oktaReserve } from '../../src/sources/okta/pacing.ts';
import { routeTemplate } from '../../src/sources/okta/executor.ts';
import { ForwardingProxy } from '../support/proxy.ts';
import { startFixture, type Fixture } from './setup.ts';

let fx: Fixture | null = null;
let proxy: ForwardingProxy | null = null;
afterEach(async () => {
  await proxy?.stop();
  await fx?.stop();
  fx = null;
  proxy = null;
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

describe('a 429 holds its bucket', () => {
  it('the other requests of the bucket wait for the reset too, even when the 429 carries no other rate-limit header', async () => {
    fx = await startFixture({ users: 3 });
    for (const team of ['ops', 'web']) fx.dir.addMember(fx.dir.addGroup(`acme:${team}`).id, 'user1@example.com');
    // A concurrency 429 from a proxy: a reset, but no limit or remaining to pace on.
    const reset = Math.ceil(Date.now() / 1000) + 1;
    fx.emu.http.faults.add({ route: 'listGroupUsers', action: oktaError(429, 'E0000047', 'API call exceeded rate limit due to too many requests.', { 'x-rate-limit-reset': String(reset) }) });
    await fx.source().read();
    const members = fx.emu.http.requests.filter((r) => r.route === 'listGroupUsers');
    const limited = members.find((r) => r.status === 429) as { at: number };
    const others = members.filter((r) => r.status !== 429);
    expect(others.length).toBeGreaterThanOrEqual(4);
    // Every other members request of the bucket went after the reset the 429 named.
    for (const r of others) expect(r.at).toBeGreaterThanOrEqual(reset * 1000);
    expect(limited.at).toBeLessThan(reset * 1000);
  });
});

describe('retries as the SDK would send them (okta.md §3.4)', () => {
  it('a retry names the request it repeats (X-Okta-Retry-For) and its count; the first attempt names none', async () => {
    fx = await startFixture({ users: 3 });
    proxy = new ForwardingProxy({ target: fx.base });
    await proxy.start();
    fx.emu.publicOrigin = proxy.origin;
    const failed = oktaRequestId();
    fx.emu.http.faults.add({ route: 'listAppUsers', action: oktaError(503, 'E0000009', 'Internal Server Error', { 'x-okta-request-id': failed }) });
    await fx.source({ orgUrl: proxy.origin }).read();
    const users = proxy.exchanges.filter((x) => /\/apps\/[^/]+\/users/.test(x.url));
    expect(users.map((x) => [x.headers['x-okta-retry-for'], x.headers['x-okta-retry-count']])).toEqual([
      [undefined, undefined],
      [failed, '1'],
    ]);
  });
});

describe('rate-limit buckets (okta.md §3.1)', () => {
  it.each([
    ['/api/v1/apps/0oa1/users', 'apps'],
    ['/api/v1/apps/0oa1/groups', 'apps'],
    ['/api/v1/apps/0oa1', 'app'],
    ['/api/v1/groups/00g1/users', 'groups'],
    ['/api/v1/groups', 'groups'],
    // §3.1: one group by id is a bucket of its own; Group Push mappings are in the app listings'.
    ['/api/v1/groups/00g1', 'group'],
    ['/api/v1/apps/0oa1/group-push/mappings', 'apps'],
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

describe("Okta's pacer", () => {
  const window = (over: Partial<{ limit: number; remaining: number; resetAt: number; window: number }> = {}) => ({ limit: 100, remaining: 99, resetAt: Date.now() + 60_000, window: 1, ...over });

  it('lets one request learn an unknown bucket before sending more', async () => {
    const pacer = oktaPacer();
    const first = await pacer.take('groups', 1);
    let second = false;
    const pending = pacer.take('groups', 1).then(() => (second = true));
    await new Promise((r) => setTimeout(r, 20));
    expect(second).toBe(false);
    pacer.settle(first as NonNullable<typeof first>, window());
    await pending;
    expect(second).toBe(true);
  });

  it('waits when what is left is within the reserve, and goes on once the window has passed', async () => {
    const pacer = oktaPacer();
    const first = await pacer.take('apps', 1);
    pacer.settle(first as NonNullable<typeof first>, window({ limit: 20, remaining: 2, resetAt: Date.now() + 50 }));
    const waits: number[] = [];
    const started = Date.now();
    await pacer.take('apps', 1, undefined, (ms) => waits.push(ms));
    expect(waits).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(40);
  });

  it('keeps a reserve of at most two, and none for tiny limits', () => {
    expect([3, 10, 20, 100, 600].map((l) => oktaReserve(l))).toEqual([0, 1, 2, 2, 2]);
  });
});
