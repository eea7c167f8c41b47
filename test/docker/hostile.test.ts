import { afterEach, describe, expect, it } from 'vitest';
import { DockerScimClient, type DockerClientOptions } from '../../src/docker/client.ts';
import { DockerApiError } from '../../src/docker/errors.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import { SCIM_PREFIX, dockerServerError } from '../../src/sandbox/docker/emulator.ts';
import { captureLogs } from '../support/logs.ts';
import { ForwardingProxy, Recorder, editJson, redirectTo, type Answer, type Exchange } from '../support/proxy.ts';
import { attrs, setup } from './fixture.ts';

/**
 * The Docker SCIM client against a hostile or broken Docker (issue 13): the real client, the
 * emulator behind a man in the middle that redirects, rewrites answers or never ends a listing,
 * and a Recorder standing for "elsewhere", which must receive nothing.
 */

const EXT = 'urn:ietf:params:scim:schemas:extension:docker:2.0:User';
const servers: Array<{ stop(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.stop()));
});

async function hostile(clientOpts: Partial<DockerClientOptions> = {}) {
  const { emu } = await setup();
  const proxy = new ForwardingProxy({ target: emu.baseUrl });
  const recorder = new Recorder();
  servers.push(proxy, recorder);
  await Promise.all([proxy.start(), recorder.start()]);
  const client = new DockerScimClient({
    baseUrl: `${proxy.origin}${SCIM_PREFIX}`,
    token: emu.token,
    logger: silentLogger(),
    backoff: { baseMs: 5, capMs: 20 },
    ...clientOpts,
  });
  return { emu, proxy, recorder, client };
}

async function failure(p: Promise<unknown>): Promise<DockerApiError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err, 'expected the call to fail').toBeInstanceOf(DockerApiError);
  return err as DockerApiError;
}

async function collect<T>(gen: AsyncGenerator<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

const isList = (req: Exchange, path: '/Users' | '/Groups') => req.method === 'GET' && req.url.startsWith(`${SCIM_PREFIX}${path}?`);
const query = (req: Exchange) => new URL(req.url, 'http://x').searchParams;

describe('redirects', () => {
  it.each([301, 302, 303, 307, 308])('a POST answered %i toward another server fails and sends nothing there', async (status) => {
    const { emu, proxy, recorder, client } = await hostile();
    proxy.intercept = (r) => (r.method === 'POST' ? redirectTo(`${recorder.origin}${r.url}`, status) : null);
    const err = await failure(client.createUser(attrs('ada@example.com')));
    expect(err).toMatchObject({ code: 'DOCKER_REDIRECT', status, transient: false });
    expect(err.message).toContain(`HTTP ${status}`);
    expect(err.message).toContain(recorder.origin);
    // The Location's origin only: its path could carry a filter naming a person.
    expect(err.message).not.toContain(`${recorder.origin}/`);
    expect(err.hint).toMatch(/DOCKER_SCIM_BASE_URL/);
    expect(recorder.requests).toEqual([]);
    // Not retried, and not done.
    expect(proxy.exchanges.filter((x) => x.method === 'POST')).toHaveLength(1);
    expect(emu.user('ada@example.com')).toBeUndefined();
  });

  it('a PUT redirected elsewhere fails; the record never leaves', async () => {
    const { emu, proxy, recorder, client } = await hostile();
    const ada = emu.seedUser({ userName: 'ada@example.com', givenName: 'Ada' });
    proxy.intercept = (r) => (r.method === 'PUT' ? redirectTo(`${recorder.origin}${r.url}`) : null);
    const err = await failure(client.replaceUser(ada.id, attrs('ada@example.com', { givenName: 'Augusta', active: false })));
    expect(err).toMatchObject({ code: 'DOCKER_REDIRECT', status: 307 });
    expect(recorder.requests).toEqual([]);
    expect(emu.user(ada.id)).toMatchObject({ givenName: 'Ada', active: true });
  });

  it('a team PATCH redirected elsewhere fails; no member id leaves', async () => {
    const { emu, proxy, recorder, client } = await hostile();
    const ada = emu.seedUser({ userName: 'ada@example.com', team: null, org: 'acmelabs' });
    const team = emu.group('acme:everyone');
    proxy.intercept = (r) => (r.method === 'PATCH' ? redirectTo(`${recorder.origin}${r.url}`, 308) : null);
    const err = await failure(client.addMembers(team?.id ?? '', [ada.id]));
    expect(err).toMatchObject({ code: 'DOCKER_REDIRECT', status: 308 });
    expect(recorder.requests).toEqual([]);
    expect(emu.teamMembers('acme:everyone')).toEqual([]);
  });

  it('a write redirected within Docker\'s own origin is not followed either', async () => {
    const { emu, proxy, recorder, client } = await hostile();
    proxy.intercept = (r) => (r.method === 'POST' && r.url === `${SCIM_PREFIX}/Users` ? redirectTo(`${proxy.origin}${SCIM_PREFIX}/Users?moved=1`) : null);
    const err = await failure(client.createUser(attrs('ada@example.com')));
    expect(err.code).toBe('DOCKER_REDIRECT');
    expect(proxy.exchanges.map((x) => `${x.method} ${x.url}`)).toEqual([`POST ${SCIM_PREFIX}/Users`]);
    expect(emu.user('ada@example.com')).toBeUndefined();
    expect(recorder.requests).toEqual([]);
  });

  it('a redirected write whose earlier attempt lost its answer keeps an ambiguous code', async () => {
    const { emu, proxy, recorder, client } = await hostile();
    // The first POST is done but answered 502; the retry is redirected.
    emu.http.faults.add({ route: 'createUser', when: 'after', action: dockerServerError(502) });
    let posts = 0;
    proxy.intercept = (r) => (r.method === 'POST' && ++posts === 2 ? redirectTo(`${recorder.origin}${r.url}`) : null);
    const err = await failure(client.createUser(attrs('ada@example.com')));
    expect(err.code).toBe('DOCKER_BAD_RESPONSE');
    expect(err.message).toMatch(/redirect \(HTTP 307\)/);
    expect(recorder.requests).toEqual([]);
    expect(emu.user('ada@example.com')).toBeDefined();
  });

  it('the user listing redirected to another port fails the read, and the token goes nowhere', async () => {
    const { emu, proxy, recorder, client } = await hostile();
    emu.seedUser({ userName: 'ada@example.com' });
    proxy.intercept = (r) => (isList(r, '/Users') ? redirectTo(`${recorder.origin}${r.url}`, 302) : null);
    const err = await failure(client.snapshot());
    expect(err).toMatchObject({ code: 'DOCKER_REDIRECT', status: 302 });
    expect(err.message).toContain(recorder.origin);
    expect(err.message).toContain(proxy.origin);
    expect(recorder.requests).toEqual([]);
  });

  it('a redirect to the same port under another host name is another origin', async () => {
    const { proxy, recorder, client } = await hostile();
    const other = proxy.origin.replace('127.0.0.1', 'localhost');
    proxy.intercept = (r) => (isList(r, '/Users') && !r.headers.host?.startsWith('localhost') ? redirectTo(`${other}${r.url}`) : null);
    const err = await failure(collect(client.users()));
    expect(err.code).toBe('DOCKER_REDIRECT');
    expect(proxy.exchanges.filter((x) => x.headers.host?.startsWith('localhost'))).toEqual([]);
    expect(recorder.requests).toEqual([]);
  });

  it('a GET redirected within the configured origin is followed, relative Location included', async () => {
    const { emu, proxy, client } = await hostile();
    for (let i = 0; i < 3; i++) emu.seedUser({ userName: `user${i}@example.com` });
    proxy.intercept = (r) => {
      if (!isList(r, '/Users') || query(r).has('hop')) return null;
      return redirectTo(`${r.url}&hop=1`, 301);
    };
    const snap = await client.snapshot();
    expect(snap.users.map((u) => u.userName).sort()).toEqual(['user0@example.com', 'user1@example.com', 'user2@example.com']);
    const followed = proxy.exchanges.filter((x) => isList(x, '/Users') && query(x).has('hop'));
    expect(followed).toHaveLength(1);
    expect(followed[0]?.headers.authorization).toBe(`Bearer ${emu.token}`);
  });

  it('a redirect loop within the origin stops after 5 hops', async () => {
    const { proxy, client } = await hostile();
    // It lets go after 20 hops, so a client without a bound fails this test rather than hang.
    const hop = (r: Exchange) => Number(query(r).get('hop') ?? 0);
    proxy.intercept = (r) => (isList(r, '/Users') && hop(r) < 20 ? redirectTo(`${r.url}&hop=${hop(r) + 1}`) : null);
    const err = await failure(collect(client.users()));
    expect(err.code).toBe('DOCKER_REDIRECT');
    expect(err.message).toMatch(/6 times/);
    expect(proxy.exchanges.filter((x) => isList(x, '/Users'))).toHaveLength(6);
  });
});

/** A user record with a fresh id on every call: what a listing that never ends is made of. */
let ghosts = 0;
function ghostUser(): Record<string, unknown> {
  ghosts++;
  return { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: `ghost-${ghosts}`, userName: `ghost${ghosts}@example.com`, active: true };
}
function ghostGroup(): Record<string, unknown> {
  ghosts++;
  return { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], id: `ghost-team-${ghosts}`, displayName: `acme:ghost${ghosts}`, members: [] };
}

/**
 * Makes every page of a listing full of fresh records, with `total(page)` as its totalResults
 * (deleted when undefined). After 40 pages it lets the listing end, so a client without a bound
 * finishes "successfully" and the test fails at once instead of timing out.
 */
function endless(path: '/Users' | '/Groups', total: (page: number) => number | undefined): (a: Answer, r: Exchange) => Answer {
  let page = 0;
  return (answer, req) => {
    if (!isList(req, path)) return answer;
    page++;
    return editJson(answer, (body) => {
      if (page > 40) return { ...body, totalResults: 0, resources: [] };
      const count = Number(query(req).get('count'));
      const resources = Array.from({ length: count }, path === '/Users' ? ghostUser : ghostGroup);
      const t = total(page);
      const out: Record<string, unknown> = { ...body, resources, itemsPerPage: count };
      if (t === undefined) delete out.totalResults;
      else out.totalResults = t;
      return out;
    });
  };
}

describe('listings that never end', () => {
  it('a totalResults that keeps growing stops the read a little past the first page\'s total', async () => {
    const { emu, proxy, client } = await hostile({ pageSize: 2 });
    proxy.rewrite = endless('/Users', (page) => 5 + 2 * page);
    const err = await failure(client.snapshot());
    expect(err.code).toBe('DOCKER_BAD_RESPONSE');
    expect(err.message).toMatch(/first page's totalResults \(7 at 2 per page\) needs 4 page/);
    // 4 pages, plus the slack of 2 for accounts added while reading.
    expect(emu.http.count({ route: 'listUsers' })).toBe(6);
  });

  it('a total that grows by a few accounts added during the read is still read to the end', async () => {
    const { emu, proxy, client } = await hostile({ pageSize: 2 });
    for (let i = 0; i < 5; i++) emu.seedUser({ userName: `user${i}@example.com` });
    let seeded = false;
    proxy.rewrite = (answer, req) => {
      if (isList(req, '/Users') && !seeded) {
        seeded = true;
        for (let i = 5; i < 8; i++) emu.seedUser({ userName: `user${i}@example.com` });
      }
      return answer;
    };
    const users = await collect(client.users());
    expect(users).toHaveLength(8);
  });

  it.each(['/Users', '/Groups'] as const)('%s pages of fresh records without a total stop at the maxUsers cap', async (path) => {
    const { emu, proxy, client } = await hostile({ pageSize: 2, maxUsers: 10 });
    proxy.rewrite = endless(path, () => undefined);
    const err = await failure(client.snapshot());
    expect(err.code).toBe('DOCKER_READ_LIMIT');
    expect(err.message).toContain(`GET ${path}`);
    expect(err.message).toMatch(/within 6 pages \(12 records read\), the cap for at most 10 accounts at 2 per page/);
    expect(err.hint).toMatch(/raise MAX_USERS \(sync.maxUsers\)/);
    expect(emu.http.count({ route: path === '/Users' ? 'listUsers' : 'listGroups' })).toBe(6);
  });

  it('a server that ignores startIndex with fresh ids under a fixed total still ends', async () => {
    const { proxy, client } = await hostile({ pageSize: 2 });
    proxy.rewrite = endless('/Users', () => 6);
    expect(await collect(client.users())).toHaveLength(6);
  });

  it('maxUsers caps a real listing: at the cap it is read, past it the read fails', async () => {
    const { emu, client } = await hostile({ pageSize: 2, maxUsers: 10 });
    for (let i = 0; i < 10; i++) emu.seedUser({ userName: `user${i}@example.com` });
    expect(await collect(client.users())).toHaveLength(10);
    for (let i = 10; i < 13; i++) emu.seedUser({ userName: `user${i}@example.com` });
    expect((await failure(collect(client.users()))).code).toBe('DOCKER_READ_LIMIT');
  });
});

describe('what a create\'s answer may claim', () => {
  it('a 201 naming another existing account: the account sent is looked up and returned instead', async () => {
    const logs = captureLogs();
    const { emu, proxy, client } = await hostile({ logger: logs.logger });
    const mallory = emu.seedUser({ userName: 'mallory@example.com' });
    proxy.rewrite = (a, r) => (r.method === 'POST' && a.status === 201 ? editJson(a, (b) => ({ ...b, id: mallory.id, userName: mallory.userName })) : a);
    const { user, existed } = await client.createUser(attrs('ada@example.com'));
    expect(existed).toBe(false);
    expect(user.id).toBe(emu.user('ada@example.com')?.id);
    expect(user.id).not.toBe(mallory.id);
    expect(user.userName).toBe('ada@example.com');
    const warn = logs.lines.find((l) => l.level === 'warn' || l.level === 40);
    expect(String(warn?.msg)).toMatch(/describes user mallory@example\.com/);
  });

  it.each([
    ['no id', (b: Record<string, unknown>) => ({ ...b, id: '' })],
    ['a numeric id', (b: Record<string, unknown>) => ({ ...b, id: 42 })],
    ['a userName in other letters only', (b: Record<string, unknown>) => ({ ...b, userName: 'ADA@example.com' })],
  ])('a 201 with %s is settled by name', async (_what, edit) => {
    const { emu, proxy, client } = await hostile();
    proxy.rewrite = (a, r) => (r.method === 'POST' && a.status === 201 ? editJson(a, edit) : a);
    const { user } = await client.createUser(attrs('ada@example.com'));
    expect(user.id).toBe(emu.user('ada@example.com')?.id);
  });

  it('a 201 naming another account when none was made fails as ambiguous, naming neither id as ours', async () => {
    const { emu, proxy, client } = await hostile();
    const mallory = emu.seedUser({ userName: 'mallory@example.com' });
    const body = (await client.getUser(mallory.id)) as unknown as Record<string, unknown>;
    proxy.intercept = (r) => (r.method === 'POST' ? { status: 201, headers: { 'content-type': 'application/scim+json' }, body: JSON.stringify({ ...body, userName: mallory.userName }) } : null);
    const err = await failure(client.createUser(attrs('ada@example.com')));
    expect(err.code).toBe('DOCKER_BAD_RESPONSE');
    expect(err.message).toMatch(/no user named ada@example\.com was found/);
    expect(err.hint).toMatch(/Nothing was linked/);
  });

  it('a team create answered with another team: the team sent is looked up and returned', async () => {
    const { emu, proxy, client } = await hostile();
    emu.seedUser({ userName: 'ada@example.com' });
    const everyone = emu.group('acme:everyone');
    expect(everyone?.id).toBeDefined();
    proxy.rewrite = (a, r) => (r.method === 'POST' && a.status === 201 ? editJson(a, (b) => ({ ...b, id: everyone?.id, displayName: 'acme:everyone' })) : a);
    const { group } = await client.createGroup('acme:backend');
    expect(group.id).toBe(emu.group('acme:backend')?.id);
    expect(group.id).not.toBe(everyone?.id);
  });

  it('a team create answered with another team when none was made fails as ambiguous', async () => {
    const { emu, proxy, client } = await hostile();
    emu.seedUser({ userName: 'ada@example.com' });
    const everyone = emu.group('acme:everyone');
    expect(everyone?.id).toBeDefined();
    proxy.intercept = (r) =>
      r.method === 'POST' ? { status: 201, headers: { 'content-type': 'application/scim+json' }, body: JSON.stringify({ id: everyone?.id, displayName: 'acme:everyone', members: [] }) } : null;
    expect((await failure(client.createGroup('acme:backend'))).code).toBe('DOCKER_BAD_RESPONSE');
  });

  it('a PUT answered with another id is a bad response; the write went to the id in the URL', async () => {
    const { emu, proxy, client } = await hostile();
    const ada = emu.seedUser({ userName: 'ada@example.com', givenName: 'Ada' });
    const mallory = emu.seedUser({ userName: 'mallory@example.com' });
    proxy.rewrite = (a, r) => (r.method === 'PUT' ? editJson(a, (b) => ({ ...b, id: mallory.id })) : a);
    const err = await failure(client.replaceUser(ada.id, attrs('ada@example.com', { givenName: 'Augusta' })));
    expect(err.code).toBe('DOCKER_BAD_RESPONSE');
    expect(err.message).toContain(`describes id ${mallory.id}, not ${ada.id}`);
    expect(emu.user(ada.id)?.givenName).toBe('Augusta');
    expect(emu.user(mallory.id)?.givenName).toBeNull();
  });

  it('a GET by id answered for another id is a bad response, for users and teams', async () => {
    const { emu, proxy, client } = await hostile();
    const ada = emu.seedUser({ userName: 'ada@example.com' });
    proxy.rewrite = (a, r) => (r.method === 'GET' && /\/(Users|Groups)\/[^?]+$/.test(r.url) ? editJson(a, (b) => ({ ...b, id: 'someone-else' })) : a);
    expect((await failure(client.getUser(ada.id))).code).toBe('DOCKER_BAD_RESPONSE');
    // A team listed without members is fetched by id.
    proxy.rewrite = (a, r) => {
      if (isList(r, '/Groups')) return editJson(a, (b) => ({ ...b, resources: (b.resources as Array<Record<string, unknown>>).map(({ members: _m, ...g }) => g) }));
      if (r.method === 'GET' && r.url.includes('/Groups/')) return editJson(a, (b) => ({ ...b, id: 'someone-else' }));
      return a;
    };
    expect((await failure(collect(client.groups()))).code).toBe('DOCKER_BAD_RESPONSE');
  });
});

describe('ill-typed values in Docker\'s answers', () => {
  it('active: "false" in the listing stops the read, naming the user, the field and the value', async () => {
    const { emu, proxy, client } = await hostile();
    const ada = emu.seedUser({ userName: 'ada@example.com' });
    emu.seedUser({ userName: 'alan@example.com' });
    proxy.rewrite = (a, r) =>
      isList(r, '/Users')
        ? editJson(a, (b) => ({ ...b, resources: (b.resources as Array<Record<string, unknown>>).map((u) => (u.id === ada.id ? { ...u, active: 'false' } : u)) }))
        : a;
    const err = await failure(client.snapshot());
    expect(err.code).toBe('DOCKER_BAD_RESPONSE');
    expect(err.message).toContain(`user "${ada.id}": "active" is "false" (a string), expected true or false`);
  });

  it('a team extension value of another type stops the read', async () => {
    const { emu, proxy, client } = await hostile();
    emu.seedUser({ userName: 'ada@example.com' });
    proxy.rewrite = (a, r) =>
      isList(r, '/Users') ? editJson(a, (b) => ({ ...b, resources: (b.resources as Array<Record<string, any>>).map((u) => ({ ...u, [EXT]: { ...u[EXT], dockerTeam: ['everyone'] } })) })) : a;
    const err = await failure(collect(client.users()));
    expect(err.message).toContain(`"${EXT}.dockerTeam" is ["everyone"] (a list), expected a string`);
  });
});
