import { generateKeyPairSync } from 'node:crypto';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import type { OktaOAuthOptions } from '../../src/sandbox/okta/oauth.ts';
import { oktaServerError } from '../../src/sandbox/okta/faults.ts';
import { errorText } from '../support/logs.ts';
import { rejectionOf, startFixture, type Fixture } from './setup.ts';

/** private_key_jwt end to end: the SDK signs a client assertion, the emulator verifies it with the public key. */

const CLIENT_ID = '0oaservice0docker';

interface KeyPair {
  privatePem: string;
  publicPem: string;
}

function rsaPair(type: 'pkcs8' | 'pkcs1' = 'pkcs8'): KeyPair {
  const { privateKey, publicKey } = generateKeyPairSync('rsa', {
    modulusLength: 2048,
    privateKeyEncoding: { type, format: 'pem' },
    publicKeyEncoding: { type: 'spki', format: 'pem' },
  });
  return { privatePem: privateKey, publicPem: publicKey };
}

let key: KeyPair;
let otherKey: KeyPair;
beforeAll(() => {
  key = rsaPair();
  otherKey = rsaPair('pkcs1');
});

let fx: Fixture | null = null;
afterEach(async () => {
  await fx?.stop();
  fx = null;
});

async function oauthFixture(oauth: Partial<OktaOAuthOptions> = {}): Promise<Fixture> {
  return startFixture({ users: 3, emulator: { oauth: { clientId: CLIENT_ID, publicKeyPem: key.publicPem, ...oauth } } });
}

function privateKeyAuth(privateKey: string, scopes?: readonly string[]) {
  return { auth: { kind: 'privateKey' as const, clientId: CLIENT_ID, keyId: 'kid-1', privateKey, ...(scopes ? { scopes } : {}) } };
}

describe('OAuth service app (private_key_jwt)', () => {
  it('reads the app with an access token obtained by a signed client assertion', async () => {
    fx = await oauthFixture();
    const snap = await fx.source(privateKeyAuth(key.privatePem)).read();
    expect(snap.users).toHaveLength(8);
    expect(fx.emu.http.count({ route: 'token', status: 200 })).toBe(1);
    expect(fx.emu.authServer?.issued).toBe(1);
    // The token request is counted with the API calls.
    expect(snap.stats.requests).toBe(fx.emu.http.requests.length);
  });

  it('reuses the token across reads and refreshes it once when Okta stops accepting it', async () => {
    fx = await oauthFixture();
    const source = fx.source(privateKeyAuth(key.privatePem));
    await source.read();
    fx.emu.authServer?.revokeAll();
    const snap = await source.read();
    expect(snap.users).toHaveLength(8);
    expect(fx.emu.authServer?.issued).toBe(2);
    expect(fx.emu.http.count({ route: 'listAppUsers', status: 401 })).toBe(1);
  });

  it('a key that does not match the registered public key fails clearly, before any API call', async () => {
    fx = await oauthFixture();
    const err = await rejectionOf(fx.source(privateKeyAuth(otherKey.privatePem)).read());
    expect(err).toBeInstanceOf(SourceReadError);
    const e = err as SourceReadError;
    expect(e).toMatchObject({ system: 'okta', operation: 'POST /oauth2/v1/token', status: 401, remoteCode: 'invalid_client' });
    expect(e.remoteMessage).toMatch(/signature is invalid/);
    expect(e.hint).toMatch(/public key/);
    // No "Bearer undefined" call went out (okta.md §5.2).
    expect(fx.emu.http.count({ route: 'listAppUsers' })).toBe(0);
    const pemBody = otherKey.privatePem.split('\n')[1] as string;
    expect(errorText(err)).not.toContain(pemBody);
    expect(fx.logs.text()).not.toContain(pemBody);
  });

  it('a scope the app was not granted is refused with a hint about the scopes', async () => {
    fx = await oauthFixture({ grantedScopes: ['okta.apps.read', 'okta.users.read'] });
    const err = (await rejectionOf(fx.source(privateKeyAuth(key.privatePem)).read())) as SourceReadError;
    expect(err).toMatchObject({ status: 400, remoteCode: 'invalid_scope' });
    expect(err.hint).toContain('okta.groups.read');
  });

  it('a token without the groups scope gets 403 on the group read, with a hint about scopes and roles', async () => {
    fx = await oauthFixture();
    const err = (await rejectionOf(fx.source(privateKeyAuth(key.privatePem, ['okta.apps.read'])).read())) as SourceReadError;
    expect(err).toMatchObject({ status: 403, remoteCode: 'E0000006' });
    expect(err.operation).toMatch(/^GET \/api\/v1\/groups\//);
    expect(err.hint).toMatch(/okta\.groups\.read.*admin role/);
  });

  it('a private key that is not a key fails clearly without quoting it', async () => {
    fx = await oauthFixture();
    const garbage = '-----BEGIN PRIVATE KEY-----\nTm90QUtleUF0QWxsSnVzdFNvbWVCeXRlc0hlcmU=\n-----END PRIVATE KEY-----';
    const err = (await rejectionOf(fx.source(privateKeyAuth(garbage)).read())) as SourceReadError;
    expect(err).toBeInstanceOf(SourceReadError);
    expect(err.hint).toMatch(/PEM/);
    expect(errorText(err)).not.toContain('Tm90QUtleUF0QWxsSnVzdFNvbWVCeXRlc0hlcmU');
    expect(fx.emu.http.requests).toHaveLength(0);
  });

  it('retries a token endpoint 5xx', async () => {
    fx = await oauthFixture();
    fx.emu.http.faults.add({ route: 'token', action: oktaServerError(503) });
    const snap = await fx.source(privateKeyAuth(key.privatePem)).read();
    expect(snap.users).toHaveLength(8);
    expect(fx.emu.http.count({ route: 'token', status: 503 })).toBe(1);
  });

  it('negotiates DPoP when the app requires it', async () => {
    fx = await oauthFixture({ dpop: true });
    const snap = await fx.source(privateKeyAuth(key.privatePem)).read();
    expect(snap.users).toHaveLength(8);
    // First answer asks for a nonce; the SDK retries with it and gets a DPoP-bound token.
    expect(fx.emu.http.requests.filter((r) => r.route === 'token').map((r) => r.status)).toEqual([400, 200]);
    expect(fx.emu.http.count({ status: 401 })).toBe(0);
  });
});
