import { afterEach, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { GRAPH_SCOPE, PEOPLE, byName, makeClientCertificate, rejectionOf, startFixture, type Fixture } from './setup.ts';
import { errorText } from '../support/logs.ts';

/** Both credential kinds through the real `@azure/identity`, and what the admin sees when one is wrong. */

let fx: Fixture | null = null;
const cleanups: Array<() => void> = [];
afterEach(async () => {
  await fx?.stop();
  fx = null;
  for (const c of cleanups.splice(0)) c();
});

async function failure(p: Promise<unknown>): Promise<SourceReadError> {
  const err = await rejectionOf(p);
  expect(err).toBeInstanceOf(SourceReadError);
  return err as SourceReadError;
}

describe('client secret', () => {
  it('signs in with the secret, asks for the Graph scope, and reuses the token across reads', async () => {
    fx = await startFixture({ users: 2 });
    const source = fx.source();
    expect(byName(await source.read(), PEOPLE.alice).userName).toBe(PEOPLE.alice);
    await source.read();
    expect(fx.emu.identity.scopesRequested).toEqual([GRAPH_SCOPE]);
    expect(fx.emu.auth.tokensIssued).toBe(1);
  });

  it('a token is used until MSAL would renew it (5 minutes before it expires), then asked for again', async () => {
    // Tokens of 4 minutes are inside the renewal margin from the start: each request asks again.
    fx = await startFixture({ users: 2, emulator: { tokenTtlSeconds: 240 } });
    await fx.source().read();
    const graphRequests = fx.emu.log.filter((l) => !l.inBatch).length;
    expect(graphRequests).toBeGreaterThan(2);
    expect(fx.emu.auth.tokensIssued).toBe(graphRequests);
  });

  it('a wrong secret → SourceReadError naming AADSTS7000215 with a hint about ENTRA_CLIENT_SECRET, and the secret appears nowhere', async () => {
    fx = await startFixture({ users: 1 });
    const secret = 'Wr0ng~Secret.Value_abcdefghijklmnop';
    const err = await failure(fx.source({ credential: { kind: 'secret', secret } }).read());
    expect(err).toMatchObject({ system: 'entra', remoteCode: 'AADSTS7000215', transient: false });
    expect(err.remoteMessage).toMatch(/^AADSTS7000215: Invalid client secret provided/);
    expect(err.hint).toContain('ENTRA_CLIENT_SECRET');
    expect(err.hint).toContain('not its Secret ID');
    expect(errorText(err)).not.toContain(secret);
    expect(fx.logs.text()).not.toContain(secret);
    // No Graph request went out without a token.
    expect(fx.emu.log).toEqual([]);
    expect(fx.emu.http.count({ route: 'token', status: 401 })).toBe(1);
  });

  it('an unknown client id → a hint about ENTRA_CLIENT_ID', async () => {
    fx = await startFixture({ users: 1 });
    const err = await failure(fx.source({ clientId: '99999999-8888-4777-8666-555555555555' }).read());
    expect(err).toMatchObject({ remoteCode: 'AADSTS700016' });
    expect(err.hint).toContain('ENTRA_CLIENT_ID');
  });

  it('an unknown tenant → a hint about ENTRA_TENANT_ID', async () => {
    fx = await startFixture({ users: 1 });
    const err = await failure(fx.source({ tenantId: 'contoso.onmicrosoft.com' }).read());
    expect(err.remoteCode).toBe('endpoints_resolution_error');
    expect(err.operation).toBe(`GET ${fx.origin}/contoso.onmicrosoft.com/v2.0/.well-known/openid-configuration`);
    expect(err.hint).toContain('ENTRA_TENANT_ID');
    expect(fx.emu.http.count({ route: 'discovery', status: 400 })).toBe(1);
  });

  it('a plain http authority is refused before any request, with the variable to fix', async () => {
    fx = await startFixture({ users: 1 });
    const err = await failure(fx.source({ authorityHost: fx.origin.replace('https:', 'http:') }).read());
    expect(err.message).toContain('ENTRA_AUTHORITY_HOST must be an https:// URL');
    expect(fx.emu.http.requests).toEqual([]);
  });
});

describe('client certificate', () => {
  it('signs in with a PEM file holding the key and the certificate registered on the app', async () => {
    const cert = await makeClientCertificate();
    cleanups.push(cert.cleanup);
    fx = await startFixture({ users: 2, emulator: { clientCertificatePem: cert.certPem } });
    const snap = await fx.source({ credential: { kind: 'certificate', certificatePath: cert.file } }).read();
    expect(byName(snap, PEOPLE.alice).dockerRole).toEqual(['owner']);
    expect(fx.emu.auth.tokensIssued).toBe(1);
    expect(fx.emu.auth.unauthenticated).toBe(0);
    expect(fx.logs.text()).not.toContain(cert.keyPem.split('\n')[1] as string);
  });

  it('a certificate that is not the registered one → AADSTS700027 with a certificate hint, and no key material in the error', async () => {
    const registered = await makeClientCertificate();
    const other = await makeClientCertificate();
    cleanups.push(registered.cleanup, other.cleanup);
    fx = await startFixture({ users: 1, emulator: { clientCertificatePem: registered.certPem } });
    const err = await failure(fx.source({ credential: { kind: 'certificate', certificatePath: other.file } }).read());
    expect(err).toMatchObject({ remoteCode: 'AADSTS700027', transient: false });
    expect(err.hint).toContain('ENTRA_CLIENT_CERTIFICATE_FILE');
    for (const line of other.keyPem.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----'))) expect(errorText(err)).not.toContain(line);
  });

  it('a missing or keyless certificate file → a hint about ENTRA_CLIENT_CERTIFICATE_FILE, before any request', async () => {
    const cert = await makeClientCertificate();
    cleanups.push(cert.cleanup);
    fx = await startFixture({ users: 1, emulator: { clientCertificatePem: cert.certPem } });
    const missing = await failure(fx.source({ credential: { kind: 'certificate', certificatePath: `${cert.dir}/nope.pem` } }).read());
    expect(missing.message).toContain('cannot be read (ENOENT)');
    expect(missing.hint).toContain('ENTRA_CLIENT_CERTIFICATE_FILE');

    const { writeFileSync } = await import('node:fs');
    writeFileSync(`${cert.dir}/cert-only.pem`, cert.certPem);
    const keyless = await failure(fx.source({ credential: { kind: 'certificate', certificatePath: `${cert.dir}/cert-only.pem` } }).read());
    expect(keyless.message).toContain('a certificate but no private key');
    expect(fx.emu.http.requests).toEqual([]);
  });
});
