import { afterEach, describe, expect, it } from 'vitest';
import { mapSnapshot } from '../../src/mapping/map.ts';
import { SourceReadError } from '../../src/model/errors.ts';
import type { EntraSourceOptions } from '../../src/sources/entra/index.ts';
import { ForwardingProxy, Recorder, editJson, redirectTo, type Answer, type Exchange } from '../support/proxy.ts';
import { randomUUID } from 'node:crypto';
import { pageCap } from '../../src/sources/entra/read.ts';
import { DEFAULT_ACCESS } from '../../src/sources/entra/transform.ts';
import { errorText } from '../support/logs.ts';
import { PEOPLE, byId, byName, makeClientCertificate, rejectionOf, startFixture, type Fixture } from './setup.ts';

/**
 * Issue 13 at the Graph boundary: the real credential and Graph client against the emulator, behind
 * a man in the middle that turns hostile. A credential goes only to the configured origin (scheme,
 * host and port; invariant 10), a listing that never ends is an error, and a value of the wrong
 * type holds its user instead of being read as something.
 */

interface Rig {
  fx: Fixture;
  /** In front of the emulator, as authority and Graph base. */
  proxy: ForwardingProxy;
  /** Elsewhere, over TLS with a certificate the process trusts: a client that follows a link there would talk to it. */
  elsewhere: Recorder;
  /** Elsewhere over plain http. */
  plain: Recorder;
  /** Source options pointing at the proxy. */
  options(overrides?: Partial<EntraSourceOptions>): Partial<EntraSourceOptions>;
}

let rig: Rig | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  if (rig) await Promise.all([rig.proxy.stop(), rig.elsewhere.stop(), rig.plain.stop(), rig.fx.stop()]);
  rig = null;
  for (const c of cleanups.splice(0)) c();
});

async function startRig(opts: Parameters<typeof startFixture>[0] = {}): Promise<Rig> {
  const fx = await startFixture(opts);
  const tls = { key: fx.emu.certificate.key, cert: fx.emu.certificate.cert };
  const proxy = new ForwardingProxy({ target: fx.origin, tls, ca: fx.emu.certificate.caPem });
  const elsewhere = new Recorder(tls);
  const plain = new Recorder();
  await Promise.all([proxy.start(), elsewhere.start(), plain.start()]);
  rig = { fx, proxy, elsewhere, plain, options: (o = {}) => ({ authorityHost: proxy.origin, graphBaseUrl: proxy.origin, ...o }) };
  return rig;
}

function read(r: Rig, overrides: Partial<EntraSourceOptions> = {}) {
  return r.fx.source(r.options(overrides)).read();
}

async function failure(p: Promise<unknown>): Promise<SourceReadError> {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(SourceReadError);
  expect((err as SourceReadError).system).toBe('entra');
  return err as SourceReadError;
}

const json = (body: unknown): Answer => ({ status: 200, headers: { 'content-type': 'application/json;odata.metadata=minimal' }, body: JSON.stringify(body) });
const isServicePrincipal = (req: Exchange) => req.url.includes("/servicePrincipals(appId='");
const isMembers = (req: Exchange) => req.url.includes('/members');
const isBatch = (req: Exchange) => req.url.endsWith('/$batch');
type Json = Record<string, unknown>;

/**
 * The first page of a listing that `matches`, served again and again under fresh skiptokens (at
 * `path`): a server repeating itself. Bounded at 20, so a reader without the rule ends (and its
 * test fails) instead of hanging.
 */
function replayFirstPage(r: Rig, matches: (req: Exchange) => boolean, path: string): void {
  const again = (n: number) => `${r.proxy.origin}${path}?$skiptoken=again${n}`;
  let first: Json | null = null;
  r.proxy.rewrite = (answer, req) =>
    matches(req) && first === null
      ? editJson(answer, (b) => {
          first = { ...b };
          b['@odata.nextLink'] = again(1);
        })
      : answer;
  r.proxy.intercept = (req) => {
    const n = Number(/\$skiptoken=again(\d+)/.exec(req.url)?.[1] ?? NaN);
    return Number.isNaN(n) ? null : json({ ...first, ...(n < 20 ? { '@odata.nextLink': again(n + 1) } : {}) });
  };
}
const items = (b: Json, key = 'value') => b[key] as Json[];
const isAssignments = (req: Exchange) => req.method === 'GET' && req.url.includes('/appRoleAssignedTo');
const isToken = (req: Exchange) => req.method === 'POST' && req.url.includes('/oauth2/v2.0/token');

describe('paging links are followed only on the configured origin', () => {
  it.each<[string, (r: Rig) => string]>([
    ['another port on the same host', (r) => r.elsewhere.origin],
    ['plain http', (r) => r.plain.origin],
    ['the same port over http instead of https', (r) => r.proxy.origin.replace('https:', 'http:')],
    ["one of Microsoft's Graph hosts, when the base is elsewhere", () => 'https://graph.microsoft.com'],
  ])('a nextLink to %s is a read error, and nothing is sent there', async (_label, foreign) => {
    const r = await startRig({ users: 3 });
    const origin = foreign(r);
    r.proxy.rewrite = (answer, req) =>
      isAssignments(req) ? editJson(answer, (b) => void (b['@odata.nextLink'] = `${origin}/v1.0/servicePrincipals/${r.fx.emu.servicePrincipalId}/appRoleAssignedTo?$skiptoken=page2`)) : answer;
    const err = await failure(read(r));

    expect(err.operation).toBe(`GET /servicePrincipals/${r.fx.emu.servicePrincipalId}/appRoleAssignedTo (page 2)`);
    expect(err.message).toContain(`the next page link points at ${origin}, not the configured Graph origin ${r.proxy.origin}`);
    expect(err.message).not.toContain('skiptoken');
    expect(err).toMatchObject({ transient: false });
    expect(err.hint).toContain('GRAPH_BASE_URL');
    // Refused before any request: not at the recorders, not mangled into a request on the base
    // (the SDK reads a non-https link as a path), and no attempt at a host there is no network to.
    expect(r.elsewhere.requests).toEqual([]);
    expect(r.plain.requests).toEqual([]);
    expect(r.proxy.exchanges.filter(isAssignments)).toHaveLength(1);
    expect(r.fx.logs.lines.filter((l) => l.msg === 'graph request failed; retrying')).toEqual([]);
  });

  it('(control) a nextLink on the configured origin is followed', async () => {
    const r = await startRig({ users: 6, emulator: { pageSize: 5 } });
    const snap = await read(r);
    expect(snap.users).toHaveLength(13);
    expect(r.proxy.exchanges.filter(isAssignments).length).toBeGreaterThan(1);
  });
});

describe('redirects are followed only on the configured origin', () => {
  it('a Graph GET redirected elsewhere (307) is a read error naming the status and the origin, and the token goes nowhere', async () => {
    const r = await startRig({ users: 2 });
    r.proxy.intercept = (req) => (req.url.includes('/members') ? redirectTo(`${r.elsewhere.origin}/v1.0${req.url.slice('/v1.0'.length)}&token=leak`, 307) : null);
    const err = await failure(read(r));
    expect(err.operation).toMatch(/^GET \/groups\/[^/]+\/members \(page 1\)$/);
    expect(err.message).toContain(`a redirect (HTTP 307) points at ${r.elsewhere.origin}, not the configured Graph origin ${r.proxy.origin}`);
    // The origin only, not the Location's path and query.
    expect(errorText(err)).not.toContain('token=leak');
    expect(r.elsewhere.requests).toEqual([]);
  });

  it('a $batch POST redirected elsewhere (308) does not re-send its body there', async () => {
    const r = await startRig({ users: 2 });
    r.proxy.intercept = (req) => (req.url.endsWith('/$batch') ? redirectTo(`${r.elsewhere.origin}/v1.0/$batch`, 308) : null);
    const err = await failure(read(r));
    expect(err.operation).toMatch(/^POST \/\$batch/);
    expect(err.message).toContain(`a redirect (HTTP 308) points at ${r.elsewhere.origin}`);
    expect(r.elsewhere.requests).toEqual([]);
  });

  it('a redirect on the configured origin is followed, with the token', async () => {
    const r = await startRig({ users: 2 });
    const sp = r.fx.emu.servicePrincipalId;
    r.proxy.intercept = (req) => (req.url.includes("servicePrincipals(appId='") ? redirectTo(`/v1.0/servicePrincipals/${sp}?$select=id,appId,appRoles`, 301) : null);
    const snap = await read(r);
    expect(byId(snap, r.fx.dir.user(PEOPLE.alice).id).dockerRole).toEqual(['owner']);
    const followed = r.proxy.exchanges.find((x) => x.url.startsWith(`/v1.0/servicePrincipals/${sp}?`));
    expect(followed?.headers.authorization).toMatch(/^Bearer /);
  });

  it('redirects that go round in circles are bounded', async () => {
    const r = await startRig({ users: 1 });
    r.proxy.intercept = (req) => (req.url.includes("servicePrincipals(appId='") ? redirectTo(req.url, 302) : null);
    const err = await failure(read(r));
    expect(err.message).toContain('redirected the request more than 5 times');
    expect(r.proxy.exchanges.filter((x) => x.url.includes("servicePrincipals(appId='"))).toHaveLength(6);
  });
});

describe('the token endpoint follows no redirect: the secret or assertion is sent once, to the authority', () => {
  async function certificateRig(): Promise<{ r: Rig; credential: EntraSourceOptions['credential'] }> {
    const cert = await makeClientCertificate();
    cleanups.push(cert.cleanup);
    const r = await startRig({ users: 1, emulator: { clientCertificatePem: cert.certPem } });
    return { r, credential: { kind: 'certificate', certificatePath: cert.file } };
  }
  async function secretRig(): Promise<{ r: Rig; credential: EntraSourceOptions['credential'] }> {
    const r = await startRig({ users: 1 });
    return { r, credential: { kind: 'secret', secret: r.fx.emu.clientSecret } };
  }

  it.each([
    ['client secret', secretRig, 'client_secret='],
    ['client certificate', certificateRig, 'client_assertion='],
  ] as const)('%s: a 307 to another origin → a token error, and the other origin receives nothing', async (_label, make, field) => {
    const { r, credential } = await make();
    r.proxy.intercept = (req) => (isToken(req) ? redirectTo(`${r.elsewhere.origin}${req.url}`, 307) : null);
    const err = await failure(read(r, { credential }));
    expect(err.operation).toBe(`POST ${r.proxy.origin}/${r.fx.emu.tenantId}/oauth2/v2.0/token`);
    expect(err.message).toBe(`entra: signing in to Microsoft Entra ID failed: the sign-in service answered HTTP 307, a redirect to ${r.elsewhere.origin}, which is never followed`);
    expect(err).toMatchObject({ status: 307, transient: false });
    expect(err.hint).toContain('a redirect is never followed');
    expect(r.elsewhere.requests).toEqual([]);
    expect(r.elsewhere.text()).not.toContain(field);
    // Sent once, to the authority, and not again.
    const posts = r.proxy.exchanges.filter(isToken);
    expect(posts).toHaveLength(1);
    expect(posts[0]?.body.toString()).toContain(field);
    expect(r.fx.emu.log).toEqual([]);
  });

  it('a 307 on the authority\'s own origin is not followed either (nothing re-sends the secret)', async () => {
    const { r, credential } = await secretRig();
    r.proxy.intercept = (req) => (isToken(req) && !req.url.startsWith('/moved/') ? redirectTo(`${r.proxy.origin}/moved${req.url}`, 307) : null);
    await failure(read(r, { credential }));
    expect(r.proxy.exchanges.filter(isToken)).toHaveLength(1);
  });
});

describe('a listing that never ends is an error', () => {
  it('a next page with a fresh skiptoken that brings back the same items is a read error', async () => {
    const r = await startRig({ users: 3 });
    const sp = r.fx.emu.servicePrincipalId;
    replayFirstPage(r, isAssignments, `/v1.0/servicePrincipals/${sp}/appRoleAssignedTo`);
    const err = await failure(read(r));
    expect(err.operation).toBe(`GET /servicePrincipals/${sp}/appRoleAssignedTo (page 2)`);
    expect(err.message).toMatch(/the page holds only items already read on earlier pages of this listing \(11\), so the listing would never end/);
    expect(r.proxy.exchanges.filter(isAssignments)).toHaveLength(2);
  });

  it('so is a page of group members already read, told by their ids', async () => {
    const r = await startRig({ users: 3 });
    replayFirstPage(r, isMembers, '/v1.0/groups/again/members');
    const err = await failure(read(r));
    expect(err.operation).toMatch(/^GET \/groups\/[^/]+\/members \(page 2\)$/);
    expect(err.message).toMatch(/the page holds only items already read on earlier pages of this listing \(\d+\), so the listing would never end/);
  });

  it('a listing that goes on past the pages maxUsers allows is a read error naming the cap and what to raise', async () => {
    const r = await startRig({ users: 1 });
    const sp = r.fx.emu.servicePrincipalId;
    const more = (n: number) => `${r.proxy.origin}/v1.0/servicePrincipals/${sp}/appRoleAssignedTo?$skiptoken=more${n}`;
    r.proxy.rewrite = (answer, req) => (isAssignments(req) ? editJson(answer, (b) => void (b['@odata.nextLink'] = more(2))) : answer);
    // Fresh items on every page (service principals, which the reader skips): only the cap stops
    // it. Bounded at 40 pages, so a reader without the cap ends instead of hanging.
    let served = 0;
    r.proxy.intercept = (req) => {
      const n = Number(/\$skiptoken=more(\d+)/.exec(req.url)?.[1] ?? NaN);
      if (Number.isNaN(n)) return null;
      served += 1;
      const value = [0, 1, 2].map(() => ({ id: randomUUID(), appRoleId: DEFAULT_ACCESS, principalId: randomUUID(), principalType: 'ServicePrincipal' }));
      return json({ value, ...(n < 40 ? { '@odata.nextLink': more(n + 1) } : {}) });
    };
    // ceil(1500 / 999) + 1 = 3 pages.
    const err = await failure(read(r, { maxUsers: 1500 }));
    expect(err.operation).toBe(`GET /servicePrincipals/${sp}/appRoleAssignedTo (page 4)`);
    expect(err.message).toContain('the listing goes on past 3 pages, the most that MAX_USERS = 1500 allows at 999 a page');
    expect(err.hint).toContain('raise MAX_USERS');
    expect(err.transient).toBe(false);
    expect(served).toBe(2);
  });

  it('the cap is ceil(maxUsers / 999) + 1 pages: a listing of exactly that many is read whole', async () => {
    expect([1, 999, 1000, 1998, 1_000_000].map(pageCap)).toEqual([2, 2, 3, 3, 1003]);
    // 3 plain + 5 named users assigned directly, 3 groups: 11 assignments.
    const r = await startRig({ users: 3, emulator: { pageSize: 6 } });
    const snap = await read(r, { maxUsers: 999 });
    expect(snap.users).toHaveLength(10);
    expect(r.proxy.exchanges.filter(isAssignments)).toHaveLength(2);
    r.fx.emu.pageSize = 5;
    const err = await failure(read(r, { maxUsers: 999 }));
    expect(err.message).toContain('goes on past 2 pages');
  });
});

describe('app roles the app no longer defines', () => {
  it('an assignment to one, direct or through a group, grants access without a role and is named in a note', async () => {
    const r = await startRig({ users: 1 });
    const removed: string[] = [];
    r.proxy.rewrite = (answer, req) =>
      isServicePrincipal(req)
        ? editJson(answer, (b) => {
            const roles = b.appRoles as Array<{ id: string; value: string }>;
            for (const value of ['owner', 'editor']) removed.push(...roles.splice(roles.findIndex((x) => x.value === value), 1).map((x) => x.id.toLowerCase()));
          })
        : answer;
    const snap = await read(r);
    // alice holds owner directly; dave holds editor through acme:data.
    expect(byName(snap, PEOPLE.alice).dockerRole).toEqual([]);
    expect(byName(snap, PEOPLE.dave).dockerRole).toEqual([]);
    const unknown = snap.notes.filter((n) => n.code === 'ENTRA_UNKNOWN_APP_ROLE').map((n) => n.subject);
    expect(unknown).toEqual([...removed].sort());
  });
});

describe('ids that differ only in case', () => {
  it("a user the tenant listing returns with its id in upper case is matched to its assignment, not read again by id", async () => {
    // More than a batch holds, so the directly assigned are read from the listing of the tenant.
    const r = await startRig({ users: 45 });
    // A plain directly assigned user whose id has letters to raise.
    const who = Array.from({ length: 45 }, (_, i) => r.fx.dir.user(`user${i}@example.com`).id).find((id) => /[a-f]/.test(id)) as string;
    expect(who).toBeDefined();
    const isUsers = (req: Exchange) => req.method === 'GET' && /\/v1\.0\/users\?/.test(req.url);
    r.proxy.rewrite = (answer, req) => (isUsers(req) ? editJson(answer, (b) => void items(b).forEach((u) => u.id === who && (u.id = who.toUpperCase()))) : answer);
    const snap = await read(r);
    expect(r.proxy.exchanges.filter(isUsers)).toHaveLength(1);
    expect(snap.users).toHaveLength(52);
    expect(snap.users.filter((u) => u.idpId.toLowerCase() === who)).toHaveLength(1);
    expect(r.fx.emu.log.filter((l) => l.inBatch && l.route === 'user')).toEqual([]);
  });
});

describe('values of the wrong type are never coerced', () => {
  it('accountEnabled sent as "true" or 1 holds the user (not deactivated), a list for mail gives no fallback, and the findings name the values', async () => {
    const r = await startRig({ users: 2 });
    const alice = r.fx.dir.user(PEOPLE.alice).id;
    const heidi = r.fx.dir.user(PEOPLE.heidi).id;
    const grace = r.fx.dir.user(PEOPLE.grace).id;
    r.proxy.rewrite = (answer, req) => {
      // alice arrives in a member listing; heidi and grace are read by id, in $batch.
      if (isMembers(req)) return editJson(answer, (b) => void items(b).filter((m) => m.id === alice).forEach((m) => (m.accountEnabled = 1)));
      if (isBatch(req)) {
        return editJson(answer, (b) => {
          for (const x of items(b, 'responses')) {
            const body = x.body as Json;
            if (body.id === heidi) body.accountEnabled = 'true';
            if (body.id === grace) body.mail = [PEOPLE.grace];
          }
        });
      }
      return answer;
    };
    const snap = await read(r);
    expect(byId(snap, alice)).toMatchObject({ active: true, userName: PEOPLE.alice, illTyped: [{ field: 'accountEnabled', value: '1', expected: 'a boolean' }] });
    expect(byId(snap, heidi)).toMatchObject({ active: true, illTyped: [{ field: 'accountEnabled', value: '"true"', expected: 'a boolean' }] });
    // A guest whose mail is not a string: no userName, and its UPN does not stand in.
    expect(byId(snap, grace)).toMatchObject({ userName: null, illTyped: [{ field: 'mail', value: `["${PEOPLE.grace}"]`, expected: 'a string' }] });

    const desired = mapSnapshot(snap, { defaultOrg: 'acme', defaultTeam: null });
    for (const id of [alice, heidi, grace]) {
      expect(desired.held).toContain(id);
      expect(desired.deprovisioned).not.toContain(id);
      expect(desired.users.map((u) => u.idpId)).not.toContain(id);
    }
    const ill = (id: string) => desired.findings.find((f) => f.idpId === id && f.code === 'ILL_TYPED_VALUE')?.message;
    expect(ill(heidi)).toContain('accountEnabled is "true", but it must be a boolean');
    expect(ill(alice)).toContain('accountEnabled is 1');
    expect(ill(grace)).toContain(`mail is ["${PEOPLE.grace}"]`);
  });

  it.each<[string, (req: Exchange) => boolean, (b: Json, r: Rig) => void, RegExp]>([
    ['an assignment whose principalId is a number', isAssignments, (b) => void (items(b)[0]!.principalId = 42), /assignment 1 has no principalId, principalType or appRoleId, or one is not a string/],
    ['an assignment whose appRoleId is an object', isAssignments, (b) => void (items(b)[0]!.appRoleId = { id: DEFAULT_ACCESS }), /assignment 1 has no principalId/],
    ['an assignment whose principalType is a number', isAssignments, (b) => void (items(b)[0]!.principalType = 1), /assignment 1 has no principalId/],
    // Roles are kept as one comma-joined key: a comma would turn one role into two.
    ['an assignment whose appRoleId holds a comma', isAssignments, (b) => void (items(b)[0]!.appRoleId = `${DEFAULT_ACCESS},${DEFAULT_ACCESS}`), /assignment 1 has an appRoleId with a comma in it, which no GUID has/],
    ['a member whose id is a number', isMembers, (b) => void (items(b)[0]!.id = 7), /member 1 has no id or @odata.type, or one is not a string/],
    ['an app role whose value is a number', isServicePrincipal, (b) => void ((b.appRoles as Json[])[0]!.value = 3), /app role 1 has a value that is not a string \(a number\)/],
    ['an app role without an id', isServicePrincipal, (b) => void delete (b.appRoles as Json[])[0]!.id, /app role 1 has no string id/],
    [
      'a group whose displayName is a number',
      isBatch,
      (b) => void items(b, 'responses').forEach((x) => 'displayName' in (x.body as Json) && ((x.body as Json).displayName = 42)),
      /the group's displayName is not a string \(a number\)/,
    ],
    [
      'a user read by id that comes back as someone else',
      isBatch,
      (b, r) => void items(b, 'responses').forEach((x) => (x.body as Json).id === r.fx.dir.user(PEOPLE.heidi).id && ((x.body as Json).id = r.fx.dir.user(PEOPLE.alice).id)),
      /the user read has another id/,
    ],
    ['a user read by id without an id', isBatch, (b) => void items(b, 'responses').forEach((x) => 'userPrincipalName' in (x.body as Json) && delete (x.body as Json).id), /the user read has no string id/],
  ])('%s is a read error', async (_label, match, edit, message) => {
    const r = await startRig({ users: 2 });
    r.proxy.rewrite = (answer, req) => (match(req) ? editJson(answer, (b) => edit(b, r)) : answer);
    const err = await failure(read(r));
    expect(err.message).toMatch(message);
  });
});
