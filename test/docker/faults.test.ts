import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { DockerScimClient } from '../../src/docker/client.ts';
import { DockerApiError } from '../../src/docker/errors.ts';
import { createLogger, silentLogger, type Logger } from '../../src/logging/logger.ts';
import { dockerRateLimited, dockerServerError } from '../../src/sandbox/docker/emulator.ts';
import { setup } from './fixture.ts';

/** A real logger writing JSON lines into an array, to assert what is logged and what is not. */
function capture(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(...chunk.toString('utf8').split('\n').filter((l) => l.trim() !== ''));
      cb();
    },
  });
  return { logger: createLogger({ level: 'debug', destination }), lines };
}

describe('rate limits', () => {
  it('waits out a 429 with Retry-After, then succeeds', async () => {
    const { logger, lines } = capture();
    const { emu, client } = await setup({}, { logger });
    const u = emu.seedUser({ userName: 'a@example.com' });
    emu.http.faults.add({ route: 'getUser', action: dockerRateLimited({ style: 'Retry-After', seconds: 1 }) });
    const t0 = Date.now();
    const got = await client.getUser(u.id);
    const elapsed = Date.now() - t0;
    expect(got?.id).toBe(u.id);
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(emu.http.summary()).toEqual({ 'GET getUser 429': 1, 'GET getUser 200': 1 });
    expect(client.stats).toMatchObject({ requests: 2, throttled: 1, retries: 1, byStatus: { '429': 1, '200': 1 } });
    expect(client.stats.retryWaitMs).toBeGreaterThanOrEqual(1000);
    const retry = lines.map((l) => JSON.parse(l) as Record<string, unknown>).find((l) => l.level === 'warn');
    expect(retry).toMatchObject({ route: 'GET /Users/{id}', status: 429, waitMs: 1000 });
  });

  it('waits out a 429 with X-Retry-After (a unix timestamp)', async () => {
    const { emu, client } = await setup();
    emu.http.faults.add({ route: 'serviceProviderConfig', action: dockerRateLimited({ style: 'X-Retry-After', seconds: 1 }) });
    const t0 = Date.now();
    await client.serviceProviderConfig();
    // The header is whole seconds: ceil(now) + 1, so the wait is between 1 and 2 s.
    expect(Date.now() - t0).toBeGreaterThanOrEqual(950);
    expect(emu.http.count({ status: 429 })).toBe(1);
    expect(emu.http.count({ status: 200 })).toBe(1);
  });

  it('gives up with DOCKER_RATE_LIMITED after maxRetries 429s', async () => {
    const { emu, client } = await setup({}, { maxRetries: 2 });
    emu.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 429, body: { detail: 'Rate limit exceeded', error: false } } });
    const err = (await client.serviceProviderConfig().catch((e: unknown) => e)) as DockerApiError;
    expect(err).toMatchObject({ code: 'DOCKER_RATE_LIMITED', status: 429, detail: 'Rate limit exceeded', transient: true });
    expect(err.hint).toMatch(/concurrency/);
    expect(emu.http.count()).toBe(3);
  });
});

describe('server errors and the network', () => {
  it('retries a burst of 5xx, then succeeds', async () => {
    const { emu, client } = await setup();
    const u = emu.seedUser({ userName: 'a@example.com' });
    // One status per request: each rule lets the earlier ones go first.
    [dockerServerError(500), dockerServerError(502, { proxy: true }), dockerServerError(503), dockerServerError(504)].forEach((action, skip) =>
      emu.http.faults.add({ route: 'getUser', skip, action }),
    );
    expect((await client.getUser(u.id))?.userName).toBe('a@example.com');
    expect(client.stats).toMatchObject({ requests: 5, retries: 4, byStatus: { '500': 1, '502': 1, '503': 1, '504': 1, '200': 1 } });
  });

  it('5xx forever → DOCKER_HTTP_500 after maxRetries, status and detail in the error', async () => {
    const { logger, lines } = capture();
    const { emu, client } = await setup({}, { maxRetries: 3, logger });
    const u = emu.seedUser({ userName: 'a@example.com' });
    emu.http.faults.add({ route: 'getUser', times: Infinity, action: dockerServerError(500) });
    const err = (await client.getUser(u.id).catch((e: unknown) => e)) as DockerApiError;
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ code: 'DOCKER_HTTP_500', status: 500, system: 'docker', transient: true, detail: 'Internal server error' });
    expect(err.message).toContain(`GET /Users/${u.id}`);
    expect(err.message).toContain('500');
    expect(err.hint).toMatch(/again later/);
    expect(emu.http.count({ route: 'getUser' })).toBe(4);
    const parsed = lines.map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(parsed.filter((l) => l.level === 'warn')).toHaveLength(3);
    expect(parsed.filter((l) => l.level === 'error')).toHaveLength(1);
  });

  it('does not retry a 4xx', async () => {
    const { emu, client } = await setup();
    emu.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 403, body: { schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '403', detail: 'SCIM is not enabled' } } });
    await expect(client.serviceProviderConfig()).rejects.toMatchObject({ code: 'DOCKER_HTTP_403', detail: 'SCIM is not enabled' });
    expect(emu.http.count()).toBe(1);
  });

  it('retries a dropped connection', async () => {
    const { emu, client } = await setup();
    for (let i = 0; i < 3; i++) emu.seedUser({ userName: `u${i}@example.com` });
    emu.http.faults.add({ route: 'listUsers', action: { type: 'drop' } });
    const users = [];
    for await (const u of client.users()) users.push(u);
    expect(users).toHaveLength(3);
    expect(client.stats.byStatus.network).toBe(1);
    expect(client.stats.retries).toBe(1);
  });

  it('a connection that never answers becomes DOCKER_NETWORK after retries', async () => {
    const { emu } = await setup();
    const base = emu.baseUrl;
    await emu.stop();
    const client = new DockerScimClient({ baseUrl: base, token: emu.token, logger: silentLogger(), maxRetries: 1, backoff: { baseMs: 5, capMs: 10 } });
    const err = (await client.serviceProviderConfig().catch((e: unknown) => e)) as DockerApiError;
    expect(err).toMatchObject({ code: 'DOCKER_NETWORK', transient: true });
    expect(err.message).toContain('ECONNREFUSED');
    expect(err.hint).toContain(new URL(base).origin);
  });

  it('retries a timeout', async () => {
    const { emu, client } = await setup({}, { timeoutMs: 300 });
    const u = emu.seedUser({ userName: 'a@example.com' });
    emu.http.faults.add({ route: 'getUser', action: { type: 'delay', ms: 900 } });
    expect((await client.getUser(u.id))?.id).toBe(u.id);
    expect(client.stats.byStatus.timeout).toBeGreaterThanOrEqual(1);
    expect(client.stats.byStatus['200']).toBe(1);
  });

  it('a timeout every time → DOCKER_TIMEOUT', async () => {
    const { emu, client } = await setup({}, { timeoutMs: 100, maxRetries: 1 });
    emu.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'delay', ms: 300 } });
    await expect(client.serviceProviderConfig()).rejects.toMatchObject({ code: 'DOCKER_TIMEOUT', transient: true });
    expect(client.stats.byStatus.timeout).toBe(2);
  });

  it('retries a truncated body on a read; a 200 that is not JSON is DOCKER_BAD_RESPONSE', async () => {
    const { emu, client } = await setup({}, { maxRetries: 1 });
    emu.http.faults.add({ route: 'serviceProviderConfig', action: { type: 'truncate' } });
    await expect(client.serviceProviderConfig()).resolves.toMatchObject({ etag: { supported: false } });
    emu.http.faults.add({ route: 'serviceProviderConfig', times: Infinity, action: { type: 'status', status: 200, body: '<html>Sign in</html>', headers: { 'content-type': 'text/html' } } });
    const err = (await client.serviceProviderConfig().catch((e: unknown) => e)) as DockerApiError;
    expect(err).toMatchObject({ code: 'DOCKER_BAD_RESPONSE', status: 200 });
    expect(err.hint).toMatch(/base URL/);
  });

  it('a POST whose 2xx answer is unreadable is never sent again, and fails as ambiguous', async () => {
    const { emu, client } = await setup({}, { maxRetries: 3 });
    // The account is made; its answer is cut off halfway.
    emu.http.faults.add({ route: 'createUser', when: 'after', action: { type: 'truncate' } });
    const err = (await client.createUser({ userName: 'ada@example.com', givenName: null, familyName: null, active: true, role: 'member', org: 'acme', team: null }).catch((e: unknown) => e)) as DockerApiError;
    // DOCKER_BAD_RESPONSE is what makes the journal check, next run, whether the account exists.
    expect(err).toMatchObject({ code: 'DOCKER_BAD_RESPONSE' });
    expect(emu.http.count({ route: 'createUser' })).toBe(1);
    expect(emu.allUsers().map((u) => u.userName)).toEqual(['ada@example.com']);
  });
});

describe('authentication', () => {
  it('401 → DOCKER_UNAUTHORIZED with a hint, and the token appears nowhere', async () => {
    const wrong = 'dckr_scim_WRONG_value_9a8b7c6d5e';
    const { logger, lines } = capture();
    const { emu } = await setup();
    const client = new DockerScimClient({ baseUrl: emu.baseUrl, token: wrong, logger });
    const err = (await client.serviceProviderConfig().catch((e: unknown) => e)) as DockerApiError;
    expect(err).toBeInstanceOf(DockerApiError);
    expect(err).toMatchObject({ code: 'DOCKER_UNAUTHORIZED', status: 401, system: 'docker', transient: false });
    expect(err.hint).toContain('DOCKER_SCIM_TOKEN');
    expect(err.hint).toContain('base URL');
    expect(err.describe()).toContain('fix:');
    expect(emu.http.count({ status: 401 })).toBe(1);
    const everything = [err.message, err.hint, err.stack, err.describe(), JSON.stringify(err), JSON.stringify(client.stats), ...lines].join('\n');
    for (const secret of [wrong, emu.token]) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(Buffer.from(secret).toString('base64'));
    }
    expect(lines.length).toBeGreaterThan(0);
  });

  it('a missing Bearer scheme is a 401 with the SCIM error body', async () => {
    const { emu } = await setup();
    const res = await fetch(`${emu.baseUrl}/Users`, { headers: { authorization: emu.token } });
    expect(res.status).toBe(401);
    expect(res.headers.get('content-type')).toBe('application/scim+json');
    expect(await res.json()).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '401' });
  });
});
