import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { mapSnapshot } from '../../src/mapping/map.ts';
import { SourceReadError } from '../../src/model/errors.ts';
import type { IdpSnapshot } from '../../src/model/idp.ts';
import type { OktaSourceOptions } from '../../src/sources/okta/index.ts';
import { errorText } from '../support/logs.ts';
import { ForwardingProxy, Recorder, editJson, redirectTo, type Answer, type Exchange } from '../support/proxy.ts';
import { PEOPLE, rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * Okta, or something posing as it between this tool and Okta, turned hostile or broken (issue 13):
 * paging links and redirects to another origin, listings that never end, values of the wrong type.
 * The real SDK reads the emulator through a ForwardingProxy configured as OKTA_ORG_URL; a Recorder
 * stands for "elsewhere" and must never hear from us.
 */

const CLIENT_ID = '0oahostile0docker';
let keys: { privateKey: string; publicKey: string };
beforeAll(() => {
  keys = generateKeyPairSync('rsa', { modulusLength: 2048, privateKeyEncoding: { type: 'pkcs8', format: 'pem' }, publicKeyEncoding: { type: 'spki', format: 'pem' } });
});

let fx: Fixture | null = null;
let proxy: ForwardingProxy | null = null;
let elsewhere: Recorder | null = null;
afterEach(async () => {
  await proxy?.stop();
  await elsewhere?.stop();
  await fx?.stop();
  fx = null;
  proxy = null;
  elsewhere = null;
});

type Auth = 'SSWS' | 'Bearer' | 'DPoP';

interface Setup {
  fx: Fixture;
  proxy: ForwardingProxy;
  elsewhere: Recorder;
  read(overrides?: Partial<OktaSourceOptions>): Promise<IdpSnapshot>;
}

/** An emulator behind a proxy that is the source's OKTA_ORG_URL, and a Recorder elsewhere. */
async function hostile(opts: { users?: number; auth?: Auth } = {}): Promise<Setup> {
  const auth = opts.auth ?? 'SSWS';
  fx = await startFixture({
    users: opts.users ?? 5,
    ...(auth === 'SSWS' ? {} : { emulator: { oauth: { clientId: CLIENT_ID, publicKeyPem: keys.publicKey, dpop: auth === 'DPoP' } } }),
  });
  proxy = new ForwardingProxy({ target: fx.base });
  await proxy.start();
  elsewhere = new Recorder();
  await elsewhere.start();
  // The client assertion's audience is the token URL on the origin the client was given.
  fx.emu.publicOrigin = proxy.origin;
  const f = fx;
  const p = proxy;
  const oauth = auth === 'SSWS' ? {} : { auth: { kind: 'privateKey' as const, clientId: CLIENT_ID, keyId: 'kid-1', privateKey: keys.privateKey } };
  return { fx: f, proxy: p, elsewhere, read: (o = {}) => f.source({ orgUrl: p.origin, ...oauth, ...o }).read() };
}

/** The emulator's JSON, as far as the tests below edit it. */
interface AppUserJson {
  id: string;
  status: unknown;
  profile: Record<string, unknown>;
  _embedded: { user: Record<string, unknown> };
}
interface GroupAssignmentJson {
  _embedded: { group: { profile: { name: unknown } } };
}

const USERS_PATH = /^\/api\/v1\/apps\/[^/]+\/users(\?|$)/;

function isFirstPage(req: Exchange, path: RegExp): boolean {
  return path.test(req.url) && !new URL(req.url, 'http://x').searchParams.has('after');
}

/** The answer with its `next` link moved to `origin` (path and cursor kept). */
function nextLinkTo(answer: Answer, from: string, origin: string): Answer {
  const links = ([] as string[]).concat(answer.headers.link ?? []);
  return { ...answer, headers: { ...answer.headers, link: links.map((l) => (l.includes('rel="next"') ? l.split(from).join(origin) : l)) } };
}

function requestsTo(p: ForwardingProxy, path: RegExp): number {
  return p.exchanges.filter((e) => path.test(e.url)).length;
}

describe('paging links stay on the origin of OKTA_ORG_URL (scheme, host and port)', () => {
  it.each<[string, (s: Setup) => string]>([
    ['another port on 127.0.0.1', (s) => s.elsewhere.origin],
    ['https instead of http on the same host and port', (s) => s.proxy.origin.replace(/^http:/, 'https:')],
    ['another name for the same address (localhost for 127.0.0.1)', (s) => s.proxy.origin.replace('127.0.0.1', 'localhost')],
  ])('a next link to %s is a read error naming the page and the origin; nothing is sent there', async (_label, foreign) => {
    const s = await hostile({ users: 600 });
    const origin = foreign(s);
    s.proxy.rewrite = (answer, req) => (isFirstPage(req, USERS_PATH) ? nextLinkTo(answer, s.proxy.origin, origin) : answer);
    const err = await rejectionOf(s.read());

    expect(err).toBeInstanceOf(SourceReadError);
    const e = err as SourceReadError;
    expect(e.operation).toBe(`GET /api/v1/apps/${s.fx.emu.appId}/users (page 2)`);
    expect(e.message).toContain(`points to ${origin}, which is not the origin of OKTA_ORG_URL (${s.proxy.origin}); nothing was sent there`);
    expect(e.hint).toMatch(/OKTA_ORG_URL/);
    expect(e.transient).toBe(false);
    // The origin only: the link's cursor does not belong in an error.
    expect(errorText(e)).not.toContain('after=');
    expect(s.elsewhere.requests).toHaveLength(0);
    expect(requestsTo(s.proxy, USERS_PATH)).toBe(1);
  });

  it.each<Auth>(['SSWS', 'Bearer', 'DPoP'])('no %s credential reaches the origin a group-members link points to', async (auth) => {
    const s = await hostile({ users: 300, auth });
    for (let i = 0; i < 250; i++) s.fx.dir.addMember('acme:backend', `user${i}@example.com`);
    const members = /^\/api\/v1\/groups\/[^/]+\/users(\?|$)/;
    s.proxy.rewrite = (answer, req) => (isFirstPage(req, members) ? nextLinkTo(answer, s.proxy.origin, s.elsewhere.origin) : answer);
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toMatch(/^GET \/api\/v1\/groups\/[^/]+\/users \(page 2, group "acme:backend"\)$/);
    expect(err.message).toContain(s.elsewhere.origin);
    expect(s.elsewhere.requests).toHaveLength(0);
  });
});

describe('redirects are followed only within the origin of OKTA_ORG_URL', () => {
  it.each([301, 302, 303, 307, 308])('an API call answered %i to another origin fails naming the status and origin; nothing goes there', async (status) => {
    const s = await hostile();
    s.proxy.intercept = (req) => (USERS_PATH.test(req.url) ? redirectTo(`${s.elsewhere.origin}/api/v1/apps/x/users?sig=topsecret`, status) : null);
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err).toMatchObject({ system: 'okta', status, transient: false, operation: `GET /api/v1/apps/${s.fx.emu.appId}/users (page 1)` });
    expect(err.message).toContain(`Okta answered HTTP ${status}, a redirect to ${s.elsewhere.origin}, which is not the origin of OKTA_ORG_URL`);
    // The Location's origin, never its full URL: it may carry a token.
    expect(errorText(err)).not.toContain('topsecret');
    expect(s.elsewhere.requests).toHaveLength(0);
  });

  it.each([307, 308])('the token endpoint answered %i to another origin: the client assertion is not posted there', async (status) => {
    const s = await hostile({ auth: 'Bearer' });
    s.proxy.intercept = (req) => (req.url.startsWith('/oauth2/v1/token') ? redirectTo(`${s.elsewhere.origin}/oauth2/v1/token`, status) : null);
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain(`a redirect to ${s.elsewhere.origin}`);
    expect(err.status).toBe(status);
    expect(s.elsewhere.requests).toHaveLength(0);
    // And no API call went out with `Bearer undefined` either.
    expect(requestsTo(s.proxy, /^\/api\//)).toBe(0);
  });

  it('a redirect within the origin is followed, for API calls and the token request alike', async () => {
    const s = await hostile({ auth: 'Bearer' });
    // Relative and absolute Locations, each once; the body (client assertion) goes along on 307.
    s.proxy.intercept = (req) => {
      if (req.url.includes('moved=1')) return null;
      if (req.url.startsWith('/oauth2/v1/token')) return redirectTo('/oauth2/v1/token?moved=1', 307);
      if (USERS_PATH.test(req.url)) return redirectTo(`${s.proxy.origin}${req.url}&moved=1`, 302);
      return null;
    };
    const snap = await s.read();

    expect(snap.users).toHaveLength(10);
    const token = s.proxy.exchanges.filter((e) => e.url.startsWith('/oauth2/v1/token'));
    expect(token.map((e) => [e.method, e.url])).toEqual([['POST', '/oauth2/v1/token'], ['POST', '/oauth2/v1/token?moved=1']]);
    expect(token[1]?.body.toString('utf8')).toContain('client_assertion=');
    expect(s.proxy.exchanges.filter((e) => USERS_PATH.test(e.url)).map((e) => e.url.includes('moved=1'))).toEqual([false, true]);
    expect(s.elsewhere.requests).toHaveLength(0);
  });

  it('a redirect loop within the origin stops after 5 hops', async () => {
    const s = await hostile();
    let hop = 0;
    s.proxy.intercept = (req) => (USERS_PATH.test(req.url) ? redirectTo(`/api/v1/apps/${s.fx.emu.appId}/users?hop=${++hop}`, 307) : null);
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.message).toContain('more than 5 redirects');
    expect(requestsTo(s.proxy, USERS_PATH)).toBe(6);
  });
});

describe('a listing that never ends is a read error, not a run that never ends', () => {
  it('fresh cursors over the same records: a page of nothing new fails the read', async () => {
    const s = await hostile({ users: 5 });
    let first: Answer | null = null;
    let n = 0;
    // Every answer: page 1's records, and a `next` link with a cursor never seen before.
    s.proxy.rewrite = (answer, req) => {
      if (!USERS_PATH.test(req.url)) return answer;
      first ??= answer;
      const path = new URL(req.url, s.proxy.origin).pathname;
      return { ...first, status: 200, headers: { ...first.headers, link: [`<${s.proxy.origin}${path}?limit=500&after=fresh${++n}>; rel="next"`] } };
    };
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe(`GET /api/v1/apps/${s.fx.emu.appId}/users (page 2)`);
    expect(err.message).toContain('every item on the page was already read');
    expect(requestsTo(s.proxy, USERS_PATH)).toBe(2);
  });

  it('app users: more pages than maxUsers needs fails before asking for the next one, naming the cap', async () => {
    const s = await hostile({ users: 1_100 });
    // ceil(500 / 500) + 1 = 2 pages; 1,105 users need 3.
    const err = (await rejectionOf(s.read({ maxUsers: 500 }))) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe(`GET /api/v1/apps/${s.fx.emu.appId}/users (page 3)`);
    expect(err.message).toContain('past 2 pages of 500, more than 500 users (MAX_USERS) can need');
    expect(err.hint).toMatch(/raise MAX_USERS/);
    expect(s.fx.emu.http.count({ route: 'listAppUsers' })).toBe(2);
    expect(s.fx.emu.http.count({ route: 'listGroupUsers' })).toBe(0);
  });

  it('app users: a listing of exactly the cap still reads', async () => {
    const s = await hostile({ users: 1_100 });
    // ceil(1000 / 500) + 1 = 3 pages, which is what 1,105 users take.
    const snap = await s.read({ maxUsers: 1_000 });
    expect(snap.users).toHaveLength(1_105);
  });

  it('a maxUsers that is not a positive integer is refused when the source is built (NaN would lift every cap)', async () => {
    const s = await hostile();
    for (const maxUsers of [Number.NaN, 0, -5, 2.5]) expect(() => s.fx.source({ maxUsers })).toThrow(/maxUsers must be a positive integer/);
  });

  it('group members: the cap uses the members page size (200)', async () => {
    const s = await hostile({ users: 450 });
    for (let i = 0; i < 450; i++) s.fx.dir.addMember('acme:backend', `user${i}@example.com`);
    // maxUsers 200: app users fit in 1 page of 500 (cap 2); 453 members take 3 pages of 200 (cap 2).
    const err = (await rejectionOf(s.read({ maxUsers: 200 }))) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toMatch(/^GET \/api\/v1\/groups\/[^/]+\/users \(page 3, group "acme:backend"\)$/);
    expect(err.message).toContain('past 2 pages of 200');
  });
});

describe('ill-typed values in Okta records are reported and hold the user', () => {
  it('status, email and names of the wrong type reach the report by field and value; nobody is deactivated', async () => {
    const s = await hostile({ users: 3 });
    const ids = {
      alice: s.fx.dir.user(PEOPLE.alice).id,
      dave: s.fx.dir.user(PEOPLE.dave).id,
      user0: s.fx.dir.user('user0@example.com').id,
      user1: s.fx.dir.user('user1@example.com').id,
    };
    s.proxy.rewrite = (answer, req) =>
      USERS_PATH.test(req.url)
        ? editJson(answer, (body) => {
            for (const au of body as unknown as AppUserJson[]) {
              if (au.id === ids.alice) au.status = 1;
              if (au.id === ids.dave) au.profile.email = 42;
              if (au.id === ids.user0) au._embedded.user.status = { deactivated: true };
              if (au.id === ids.user1) au.profile.givenName = 7;
            }
          })
        : answer;
    const snap = await s.read();
    const user = (id: string) => snap.users.find((u) => u.idpId === id);

    expect(user(ids.alice)).toMatchObject({ active: true, illTyped: [{ field: 'status', value: '1', expected: 'a string' }] });
    expect(user(ids.dave)).toMatchObject({ userName: null, illTyped: [{ field: 'profile.email', value: '42' }] });
    expect(user(ids.user0)).toMatchObject({ active: true, illTyped: [{ field: '_embedded.user.status', value: '{"deactivated":true}' }] });
    expect(user(ids.user1)).toMatchObject({ givenName: null, illTyped: [{ field: 'profile.givenName', value: '7' }] });

    const desired = mapSnapshot(snap, { defaultOrg: 'acme', defaultTeam: null });
    const held = Object.values(ids).sort();
    expect([...desired.held].sort()).toEqual(held);
    expect(desired.deprovisioned.filter((id) => held.includes(id))).toEqual([]);
    const messages = desired.findings.filter((f) => f.code === 'ILL_TYPED_VALUE').map((f) => f.message);
    expect(messages).toEqual(
      expect.arrayContaining([
        expect.stringContaining('status is 1,'),
        expect.stringContaining('profile.email is 42,'),
        expect.stringContaining('_embedded.user.status is {"deactivated":true},'),
        expect.stringContaining('profile.givenName is 7,'),
      ]),
    );
  });

  it('a group name that is not a string stops the read (it decides teams)', async () => {
    const s = await hostile({ users: 3 });
    s.proxy.rewrite = (answer, req) =>
      /^\/api\/v1\/apps\/[^/]+\/groups/.test(req.url)
        ? editJson(answer, (body) => {
            for (const ga of body as unknown as GroupAssignmentJson[]) if (ga._embedded.group.profile.name === 'acme:data') ga._embedded.group.profile.name = 4242;
          })
        : answer;
    const err = (await rejectionOf(s.read())) as SourceReadError;

    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.operation).toBe(`GET /api/v1/apps/${s.fx.emu.appId}/groups (page 1)`);
    expect(err.message).toContain('a group name that is not a string but 4242');
  });
});
