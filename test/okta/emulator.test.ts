import { afterEach, describe, expect, it } from 'vitest';
import { oktaRateLimited } from '../../src/sandbox/okta/faults.ts';
import { nextLink, rawGet as get } from './raw-http.ts';
import { PEOPLE, startFixture, type Fixture } from './setup.ts';

/** The emulator's wire, checked without the SDK: what okta.md §8 says the real SDK depends on. */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});




describe('Okta emulator wire', () => {
  it('pages app users with two separate link headers, absolute URLs on its own base, and Okta headers', async () => {
    fx = await startFixture({ users: 120 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const first = await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=100`, ssws);
    expect(first.status).toBe(200);
    expect(first.headers.get('content-type')).toEqual(['application/json']);
    expect(first.headers.get('link')).toHaveLength(2);
    expect(first.headers.get('link')?.[0]).toMatch(new RegExp(`^<${fx.base}/api/v1/apps/${fx.emu.appId}/users\\?limit=100>; rel="self"$`));
    for (const h of ['x-rate-limit-limit', 'x-rate-limit-remaining', 'x-rate-limit-reset', 'x-okta-request-id', 'date']) expect(first.headers.has(h)).toBe(true);
    expect(Number(first.headers.get('x-rate-limit-reset')?.[0])).toBeGreaterThan(Date.now() / 1000 - 1);
    expect(first.body).toHaveLength(100);

    const next = nextLink(first);
    expect(next?.startsWith(`${fx.base}/`)).toBe(true);
    const second = await get(next as string, ssws);
    expect(second.body).toHaveLength(25);
    expect(nextLink(second)).toBeNull();
    const ids = [...(first.body as Array<{ id: string }>), ...(second.body as Array<{ id: string }>)].map((u) => u.id);
    expect(ids).toEqual([...ids].sort());
    expect(fx.emu.http.requests.map((r) => r.status)).toEqual([200, 200]);
  });

  it('renders an AppUser as Okta does: no self link, user only under expand=user', async () => {
    fx = await startFixture({ users: 0 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const alice = fx.dir.user(PEOPLE.alice);
    const plain = (await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users`, ssws)).body as Array<Record<string, unknown>>;
    const a = plain.find((u) => u.id === alice.id) as Record<string, unknown>;
    expect(a).toMatchObject({
      scope: 'USER',
      status: 'PROVISIONED',
      credentials: { userName: PEOPLE.alice },
      profile: { userName: PEOPLE.alice, email: PEOPLE.alice, givenName: 'Alice', familyName: 'Anders', dockerRole: 'owner', dockerOrg: ['acme', 'acmelabs'], dockerTeam: null },
    });
    expect(a._embedded).toBeUndefined();
    expect(Object.keys(a._links as object)).toEqual(['app', 'user']);
    const carol = plain.find((u) => u.id === fx?.dir.user(PEOPLE.carol).id) as Record<string, unknown>;
    expect(carol).toMatchObject({ scope: 'GROUP', _links: { group: { href: expect.stringContaining(fx.dir.group('Docker Users').id) } } });
    expect('dockerRole' in (carol.profile as object)).toBe(false);

    const expanded = (await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users?expand=user`, ssws)).body as Array<Record<string, unknown>>;
    const bob = expanded.find((u) => u.id === fx?.dir.user(PEOPLE.bob).id) as Record<string, unknown>;
    expect(bob).toMatchObject({ status: 'INACTIVE', _embedded: { user: { status: 'DEPROVISIONED', profile: { login: PEOPLE.bob, firstName: 'Bob' } } } });
  });

  it('lists group assignments with the group embedded only under expand=group, and direct group members', async () => {
    fx = await startFixture({ users: 0 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const plain = (await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/groups`, ssws)).body as Array<Record<string, unknown>>;
    expect(plain).toHaveLength(3);
    expect(plain[0]?._embedded).toBeUndefined();
    const expanded = (await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/groups?expand=group`, ssws)).body as Array<{ _embedded: { group: { profile: { name: string } } } }>;
    expect(expanded.map((g) => g._embedded.group.profile.name).sort()).toEqual(['Docker Users', 'acme:backend', 'acme:data']);

    const backend = fx.dir.group('acme:backend');
    const members = (await get(`${fx.base}/api/v1/groups/${backend.id}/users`, ssws)).body as Array<{ profile: { login: string } }>;
    expect(members.map((m) => m.profile.login).sort()).toEqual([PEOPLE.alice, PEOPLE.dave, PEOPLE.erin].sort());
  });

  it('clamps limit to the documented bounds', async () => {
    fx = await startFixture({ users: 600 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=1000`, ssws)).body).toHaveLength(500);
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users`, ssws)).body).toHaveLength(50);
    for (let i = 0; i < 25; i++) fx.dir.addGroup(`acme:t${i}`);
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/groups?limit=5`, ssws)).body).toHaveLength(20);
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=abc`, ssws)).status).toBe(400);
  });

  it('answers 401 E0000011 without a valid SSWS token, and 404 E0000007 for unknown ids', async () => {
    fx = await startFixture({ users: 1 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const noAuth = await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users`, null);
    expect(noAuth).toMatchObject({ status: 401, body: { errorCode: 'E0000011', errorSummary: 'Invalid token provided', errorLink: 'E0000011', errorCauses: [] } });
    expect(noAuth.headers.get('content-type')).toEqual(['application/json']);
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users`, 'SSWS wrong')).status).toBe(401);
    expect((await get(`${fx.base}/api/v1/apps/0oaNope/users`, ssws)).body).toMatchObject({ errorCode: 'E0000007', errorSummary: expect.stringContaining('(AppInstance)') });
    expect((await get(`${fx.base}/api/v1/groups/00gNope/users`, ssws)).status).toBe(404);
    expect((await get(`${fx.base}/api/v1/users/00uNope`, ssws)).status).toBe(404);
    expect((await get(`${fx.base}/api/v1/users/${encodeURIComponent(PEOPLE.alice)}`, ssws)).body).toMatchObject({ profile: { login: PEOPLE.alice } });
    expect((await get(`${fx.base}/api/v1/apps/${fx.emu.appId}`, ssws)).body).toMatchObject({ id: fx.emu.appId, label: 'Docker' });
  });

  it('rate-limits per bucket with 429 E0000047 and reset headers', async () => {
    fx = await startFixture({ users: 1, emulator: { rateLimit: { perMinute: 2 } } });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const users = `${fx.base}/api/v1/apps/${fx.emu.appId}/users`;
    expect((await get(users, ssws)).headers.get('x-rate-limit-remaining')).toEqual(['1']);
    await get(users, ssws);
    const limited = await get(users, ssws);
    expect(limited).toMatchObject({ status: 429, body: { errorCode: 'E0000047' } });
    expect(limited.headers.get('x-rate-limit-remaining')).toEqual(['0']);
    // Another bucket is unaffected.
    expect((await get(`${fx.base}/api/v1/groups/${fx.dir.group('acme:data').id}/users`, ssws)).status).toBe(200);
  });

  it('reports page numbers so a fault can target page N, and builds 429 faults with a fresh reset', async () => {
    fx = await startFixture({ users: 130 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    fx.emu.http.faults.add({ route: 'listAppUsers', page: 2, action: oktaRateLimited(5) });
    const first = await get(`${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=100`, ssws);
    expect(first.status).toBe(200);
    const second = await get(nextLink(first) as string, ssws);
    expect(second.status).toBe(429);
    const reset = Number(second.headers.get('x-rate-limit-reset')?.[0]);
    expect(reset - Date.now() / 1000).toBeGreaterThan(4);
    expect(second.headers.get('content-type')).toEqual(['application/json']);
  });

  it('pages from a snapshot of the listing: a user added mid-listing shows on the next listing', async () => {
    fx = await startFixture({ users: 130 });
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const users = `${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=100`;
    const first = await get(users, ssws);
    const late = fx.dir.addUser({ id: 'zzzz-late', email: 'late@example.com' });
    const rest = (await get(nextLink(first) as string, ssws)).body as Array<{ id: string }>;
    expect(rest.map((u) => u.id)).not.toContain(late.id);
    const again = await get(nextLink(await get(users, ssws)) as string, ssws);
    expect((again.body as Array<{ id: string }>).map((u) => u.id)).toContain(late.id);
    expect((await get(`${users}&after=not-a-cursor`, ssws)).status).toBe(400);
  });

  it('follows an empty page with a next link to the real continuation when asked to', async () => {
    fx = await startFixture({ users: 130 });
    fx.emu.emptyPageWithNext = true;
    const ssws = `SSWS ${fx.emu.apiToken}`;
    const sizes: number[] = [];
    let url: string | null = `${fx.base}/api/v1/apps/${fx.emu.appId}/users?limit=100`;
    while (url) {
      const r = await get(url, ssws);
      sizes.push((r.body as unknown[]).length);
      url = nextLink(r);
    }
    expect(sizes).toEqual([100, 0, 35, 0]);
  });
});
