import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_ACCESS, roleId } from '../../src/sandbox/entra/wire.ts';
import { batchItemThrottled, graphThrottled } from '../../src/sandbox/entra/faults.ts';
import { httpsCall, type CallOptions, type RawAnswer } from '../support/https-call.ts';
import { GRAPH_SCOPE, GUEST_UPN, PEOPLE, startFixture, type Fixture } from './setup.ts';

/** The emulator's wire, checked without the SDKs: what entra-graph.md §8 says the real libraries depend on. */

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

type Raw = RawAnswer;

function call(method: string, url: string, opts: CallOptions = {}): Promise<Raw> {
  return httpsCall((fx as Fixture).emu.certificate.caPem, method, url, opts);
}

async function token(): Promise<string> {
  const f = fx as Fixture;
  const r = await call('POST', `${f.origin}/${f.emu.tenantId}/oauth2/v2.0/token`, {
    form: { grant_type: 'client_credentials', client_id: f.emu.clientId, client_secret: f.emu.clientSecret, scope: GRAPH_SCOPE },
  });
  expect(r.status).toBe(200);
  return r.body.access_token as string;
}

describe('identity platform', () => {
  it('serves the discovery document with one host spelling for issuer and endpoints', async () => {
    fx = await startFixture({ users: 0 });
    const r = await call('GET', `${fx.origin}/${fx.emu.tenantId}/v2.0/.well-known/openid-configuration`);
    expect(r.status).toBe(200);
    expect(r.body).toMatchObject({
      issuer: `${fx.origin}/${fx.emu.tenantId}/v2.0`,
      token_endpoint: `${fx.origin}/${fx.emu.tenantId}/oauth2/v2.0/token`,
      authorization_endpoint: `${fx.origin}/${fx.emu.tenantId}/oauth2/v2.0/authorize`,
      jwks_uri: expect.stringMatching(new RegExp(`^${fx.origin}/`)),
    });
    const other = await call('GET', `${fx.origin}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    expect(other).toMatchObject({ status: 400, body: { error: 'invalid_tenant', error_codes: [90002] } });
  });

  it('issues an opaque bearer for the client secret and answers OAuth errors with AADSTS codes', async () => {
    fx = await startFixture({ users: 0 });
    const url = `${fx.origin}/${fx.emu.tenantId}/oauth2/v2.0/token?client-request-id=abc`;
    const ok = await call('POST', url, { form: { grant_type: 'client_credentials', client_id: fx.emu.clientId, client_secret: fx.emu.clientSecret, scope: GRAPH_SCOPE } });
    expect(ok.body).toMatchObject({ token_type: 'Bearer', expires_in: 3599, access_token: expect.any(String) });
    expect(fx.emu.auth.tokensIssued).toBe(1);

    const wrong = await call('POST', url, { form: { grant_type: 'client_credentials', client_id: fx.emu.clientId, client_secret: 'guessed-secret-value', scope: GRAPH_SCOPE } });
    expect(wrong).toMatchObject({ status: 401, body: { error: 'invalid_client', error_codes: [7000215], error_description: expect.stringMatching(/^AADSTS7000215: /) } });
    expect(wrong.text).not.toContain('guessed-secret-value');

    const scope = await call('POST', url, { form: { grant_type: 'client_credentials', client_id: fx.emu.clientId, client_secret: fx.emu.clientSecret, scope: 'https://graph.microsoft.us/.default' } });
    expect(scope.body).toMatchObject({ error: 'invalid_scope' });
    const none = await call('POST', url, { form: { grant_type: 'client_credentials', client_id: fx.emu.clientId, scope: GRAPH_SCOPE } });
    expect(none.body).toMatchObject({ error: 'invalid_client', error_codes: [7000218] });
  });
});

describe('Graph routes', () => {
  it('answers 401 InvalidAuthenticationToken without a valid bearer on every Graph route, and counts it', async () => {
    fx = await startFixture({ users: 1 });
    const g = `${fx.origin}/v1.0`;
    for (const path of [`/servicePrincipals(appId='${fx.emu.appId}')`, `/servicePrincipals/${fx.emu.servicePrincipalId}/appRoleAssignedTo`, '/users', `/groups/${fx.dir.group('acme:data').id}/members`]) {
      const r = await call('GET', `${g}${path}`);
      expect(r).toMatchObject({ status: 401, body: { error: { code: 'InvalidAuthenticationToken', innerError: { 'request-id': expect.any(String), date: expect.any(String) } } } });
      expect(r.headers['www-authenticate']).toMatch(/^Bearer /);
    }
    expect((await call('GET', `${g}/users`, { bearer: 'made-up' })).status).toBe(401);
    expect((await call('POST', `${g}/$batch`, { body: { requests: [] } })).status).toBe(401);
    expect(fx.emu.auth.unauthenticated).toBe(6);
    expect(fx.emu.log.filter((r) => r.bearer === 'missing')).toHaveLength(5);
  });

  it('honours $select: defaults without it, exactly the named properties (and id) with it, extensions only when named', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const alice = fx.dir.user(PEOPLE.alice).id;
    const team = fx.emu.extensionProperty('dockerTeam');
    const plain = await call('GET', `${fx.origin}/v1.0/users/${alice}`, { bearer: t });
    expect(plain.body).toMatchObject({ id: alice, userPrincipalName: PEOPLE.alice, mail: PEOPLE.alice, givenName: 'Alice', surname: 'Anders' });
    for (const hidden of ['accountEnabled', 'onPremisesExtensionAttributes', team]) expect(plain.body).not.toHaveProperty(hidden);

    const selected = await call('GET', `${fx.origin}/v1.0/users/${alice}?$select=accountEnabled,${team.toUpperCase()}`, { bearer: t });
    expect(selected.body).toEqual({
      '@odata.context': `${fx.origin}/v1.0/$metadata#users(id,accountEnabled,${team})/$entity`,
      id: alice,
      accountEnabled: true,
      [team]: ['backend', 'data'],
    });
    // An extension without a value is left out even when named; an unknown one is refused.
    const carol = fx.dir.user(PEOPLE.carol).id;
    expect((await call('GET', `${fx.origin}/v1.0/users/${carol}?$select=id,${team}`, { bearer: t })).body).not.toHaveProperty(team);
    const unknown = await call('GET', `${fx.origin}/v1.0/users/${alice}?$select=id,extension_0000_dockerTeam`, { bearer: t });
    expect(unknown).toMatchObject({ status: 400, body: { error: { code: 'Request_BadRequest' } } });
    expect((await call('GET', `${fx.origin}/v1.0/users/${alice}?$select=id,favouriteColour`, { bearer: t })).status).toBe(400);
    // Users can be named by UPN too.
    expect((await call('GET', `${fx.origin}/v1.0/users/${encodeURIComponent(GUEST_UPN.frank)}?$select=mail,userType`, { bearer: t })).body).toMatchObject({ mail: null, userType: 'Guest' });
  });

  it('sends Graph\'s headers: content type, request-id, the client-request-id echoed, resource units', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const r = await call('GET', `${fx.origin}/v1.0/users?$select=id&$top=5`, { bearer: t, headers: { 'client-request-id': 'c0ffee' } });
    expect(r.headers['content-type']).toBe('application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8');
    expect(r.headers['request-id']).toMatch(/^[0-9a-f-]{36}$/);
    expect(r.headers['client-request-id']).toBe('c0ffee');
    // users list 2 RU, $select −1, $top < 20 −1, floor 1.
    expect(r.headers['x-ms-resource-unit']).toBe('1');
    const members = await call('GET', `${fx.origin}/v1.0/groups/${fx.dir.group('acme:backend').id}/transitiveMembers`, { bearer: t });
    expect(members.headers['x-ms-resource-unit']).toBe('5');
  });

  it('pages with $top clamped to 999 and an absolute nextLink with $skiptoken on its own origin', async () => {
    fx = await startFixture({ users: 1_000 });
    const t = await token();
    const first = await call('GET', `${fx.origin}/v1.0/users?$select=id,mail&$top=5000`, { bearer: t });
    expect(first.body.value).toHaveLength(999);
    expect(first.body['@odata.context']).toBe(`${fx.origin}/v1.0/$metadata#users(id,mail)`);
    const next = first.body['@odata.nextLink'] as string;
    expect(next).toMatch(new RegExp(`^${fx.origin.replace(/[.]/g, '\\.')}/v1\\.0/users\\?\\$select=id,mail&\\$top=5000&\\$skiptoken=[A-Za-z0-9_-]+$`));
    const second = await call('GET', next, { bearer: t });
    expect(second.body.value).toHaveLength(1_008 - 999);
    expect(second.body).not.toHaveProperty('@odata.nextLink');
    expect(Object.keys(second.body.value[0]).sort()).toEqual(['id', 'mail']);
    expect((await call('GET', `${fx.origin}/v1.0/users?$top=0`, { bearer: t })).status).toBe(400);
    expect((await call('GET', `${fx.origin}/v1.0/users?$skiptoken=garbage`, { bearer: t })).body.error.code).toBe('Directory_ExpiredPageToken');
  });

  it('serves the service principal with a role per value in use, and its assignments', async () => {
    fx = await startFixture({ users: 1 });
    fx.dir.setAttribute(PEOPLE.heidi, 'dockerRole', 'superuser');
    const t = await token();
    const sp = await call('GET', `${fx.origin}/v1.0/servicePrincipals(appId='${fx.emu.appId}')?$select=id,appId,appRoles`, { bearer: t });
    expect(sp.body).toMatchObject({ id: fx.emu.servicePrincipalId, appId: fx.emu.appId });
    expect(sp.body.appRoles.map((r: { value: string }) => r.value).sort()).toEqual(['editor', 'member', 'owner', 'superuser']);
    expect(sp.body.appRoles.find((r: { value: string }) => r.value === 'owner').id).toBe(roleId('owner'));
    expect((await call('GET', `${fx.origin}/v1.0/servicePrincipals/${fx.emu.servicePrincipalId}`, { bearer: t })).body.id).toBe(fx.emu.servicePrincipalId);
    expect((await call('GET', `${fx.origin}/v1.0/servicePrincipals(appId='nope')`, { bearer: t })).body.error.code).toBe('Request_ResourceNotFound');

    const a = await call('GET', `${fx.origin}/v1.0/servicePrincipals(appId='${fx.emu.appId}')/appRoleAssignedTo`, { bearer: t });
    const byPrincipal = (id: string) => a.body.value.filter((x: { principalId: string }) => x.principalId === id);
    expect(byPrincipal(fx.dir.user(PEOPLE.alice).id)).toEqual([expect.objectContaining({ principalType: 'User', appRoleId: roleId('owner'), resourceId: fx.emu.servicePrincipalId })]);
    // A user without a role value gets default access; a bad value is a real role of its own.
    expect(byPrincipal(fx.dir.user('user0@example.com').id)).toEqual([expect.objectContaining({ appRoleId: DEFAULT_ACCESS })]);
    expect(byPrincipal(fx.dir.user(PEOPLE.heidi).id)).toEqual([expect.objectContaining({ appRoleId: roleId('superuser') })]);
    expect(byPrincipal(fx.dir.group('acme:data').id)).toEqual([expect.objectContaining({ principalType: 'Group', appRoleId: roleId('editor'), principalDisplayName: 'acme:data' })]);
    expect(byPrincipal(fx.dir.group('acme:platform').id)).toEqual([]);
    // Carol has the app only through her group: no assignment of her own.
    expect(byPrincipal(fx.dir.user(PEOPLE.carol).id)).toEqual([]);
  });

  it('lists members with @odata.type, nested groups included, and transitive members beneath', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const backend = fx.dir.group('acme:backend').id;
    const direct = await call('GET', `${fx.origin}/v1.0/groups/${backend}/members?$select=id,displayName`, { bearer: t });
    expect(direct.body.value.map((m: Record<string, string>) => `${m['@odata.type']} ${m.displayName}`).sort()).toEqual(['#microsoft.graph.group acme:platform', '#microsoft.graph.user Alice Anders', '#microsoft.graph.user Dave Dunn']);
    const all = await call('GET', `${fx.origin}/v1.0/groups/${backend}/transitiveMembers?$select=id`, { bearer: t });
    expect(all.body.value).toHaveLength(4);
    expect((await call('GET', `${fx.origin}/v1.0/groups/${backend}?$select=displayName`, { bearer: t })).body).toMatchObject({ id: backend, displayName: 'acme:backend' });
    expect((await call('GET', `${fx.origin}/v1.0/groups/00000000-0000-0000-0000-00000000dead/members`, { bearer: t })).status).toBe(404);
  });

  it('without User.Read.All: users are refused, member listings give users as id and @odata.type only', async () => {
    fx = await startFixture({ users: 0 });
    fx.emu.permissions.delete('User.Read.All');
    const t = await token();
    expect((await call('GET', `${fx.origin}/v1.0/users/${fx.dir.user(PEOPLE.alice).id}`, { bearer: t })).body.error.code).toBe('Authorization_RequestDenied');
    const m = await call('GET', `${fx.origin}/v1.0/groups/${fx.dir.group('acme:data').id}/members?$select=id,userPrincipalName,accountEnabled`, { bearer: t });
    expect(m.body.value).toEqual([{ '@odata.type': '#microsoft.graph.user', id: fx.dir.user(PEOPLE.dave).id, userPrincipalName: null, accountEnabled: null }]);
  });

  it('throttles by resource units with Retry-After and the x-ms-throttle headers', async () => {
    fx = await startFixture({ users: 0, emulator: { throttle: { ruPerWindow: 3, windowMs: 60_000 } } });
    const t = await token();
    const url = `${fx.origin}/v1.0/users/${fx.dir.user(PEOPLE.alice).id}`;
    for (let i = 0; i < 3; i++) expect((await call('GET', url, { bearer: t })).status).toBe(200);
    const limited = await call('GET', url, { bearer: t });
    expect(limited).toMatchObject({ status: 429, body: { error: { code: 'TooManyRequests' } } });
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(50);
    expect(limited.headers['x-ms-throttle-scope']).toBe(`Tenant_Application/ReadWrite/${fx.emu.clientId}/${fx.emu.tenantId}`);
    expect(limited.headers['x-ms-throttle-information']).toBe('ResourceUnitLimitExceeded');
  });

  it('reports page numbers so a fault can target page N', async () => {
    fx = await startFixture({ users: 10, emulator: { pageSize: 4 } });
    const t = await token();
    fx.emu.http.faults.add({ route: 'users', page: 2, action: graphThrottled(7) });
    const first = await call('GET', `${fx.origin}/v1.0/users`, { bearer: t });
    const second = await call('GET', first.body['@odata.nextLink'], { bearer: t });
    expect(second).toMatchObject({ status: 429, headers: { 'retry-after': '7' } });
  });
});

describe('$batch', () => {
  const item = (id: string, url: string) => ({ id, method: 'GET', url });

  it('answers every item inside a 200, in its own order, with the exact Content-Type key', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const alice = fx.dir.user(PEOPLE.alice).id;
    const r = await call('POST', `${fx.origin}/v1.0/$batch`, {
      bearer: t,
      body: { requests: [item('1', `/users/${alice}?$select=id,accountEnabled`), item('2', '/users/00000000-0000-0000-0000-00000000dead'), item('3', `/groups/${fx.dir.group('acme:data').id}?$select=displayName`)] },
    });
    expect(r.status).toBe(200);
    expect(r.body.responses.map((x: { id: string }) => x.id)).toEqual(['3', '2', '1']);
    const one = r.body.responses.find((x: { id: string }) => x.id === '1');
    expect(one).toMatchObject({ status: 200, headers: { 'Content-Type': expect.stringMatching(/^application\/json;odata\.metadata=minimal/) }, body: { id: alice, accountEnabled: true } });
    expect(r.body.responses.find((x: { id: string }) => x.id === '2')).toMatchObject({ status: 404, body: { error: { code: 'Request_ResourceNotFound' } } });
    expect(fx.emu.log.filter((l) => l.inBatch).map((l) => l.route)).toEqual(['user', 'user', 'group']);
  });

  it('refuses a malformed batch as a whole: more than 20 items, duplicate ids, /v1.0 item URLs', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const url = `${fx.origin}/v1.0/$batch`;
    const many = Array.from({ length: 21 }, (_, i) => item(String(i + 1), '/users'));
    expect((await call('POST', url, { bearer: t, body: { requests: many } })).status).toBe(400);
    expect((await call('POST', url, { bearer: t, body: { requests: [item('a', '/users'), item('A', '/users')] } })).body.error.message).toMatch(/duplicate/);
    expect((await call('POST', url, { bearer: t, body: { requests: [item('1', '/v1.0/users')] } })).body.error.message).toMatch(/relative to the version/);
    expect((await call('POST', url, { bearer: t, body: { nope: true } })).status).toBe(400);
    expect((await call('POST', url, { bearer: t, body: { requests: Array.from({ length: 20 }, (_, i) => item(String(i), '/users?$top=1')) } })).status).toBe(200);
  });

  it('throttles the n-th item, or the items matching a URL, inside the 200 with their own Retry-After', async () => {
    fx = await startFixture({ users: 0 });
    const t = await token();
    const users = [PEOPLE.alice, PEOPLE.bob, PEOPLE.carol].map((e) => fx?.dir.user(e).id as string);
    fx.emu.batchFaults.add({ nth: 2, action: batchItemThrottled(3) });
    fx.emu.batchFaults.add({ url: users[2] as string, action: batchItemThrottled(9) });
    const r = await call('POST', `${fx.origin}/v1.0/$batch`, { bearer: t, body: { requests: users.map((u, i) => item(String(i + 1), `/users/${u}?$select=id`)) } });
    expect(r.status).toBe(200);
    const byId = Object.fromEntries(r.body.responses.map((x: { id: string }) => [x.id, x]));
    expect(byId['1']).toMatchObject({ status: 200 });
    expect(byId['2']).toMatchObject({ status: 429, headers: { 'Retry-After': '3' }, body: { error: { code: 'TooManyRequests' } } });
    expect(byId['3']).toMatchObject({ status: 429, headers: { 'Retry-After': '9' } });
    expect(fx.emu.batchFaults.pending()).toBe(0);
  });
});
