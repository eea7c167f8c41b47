import { createHash, createPublicKey, randomBytes, verify, type JsonWebKey, type KeyObject } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../http/emulator.ts';
import { parseJwt, type ParsedJwt } from '../http/jwt.ts';

/**
 * Okta's org authorization server for an OAuth service app using private_key_jwt
 * (okta.md §5.2): `POST /oauth2/v1/token` with a signed client assertion, answering an opaque access
 * token; optionally in DPoP mode, which the SDK (≥7.3) negotiates by itself. Also checks the
 * tokens it issued on API calls.
 */

export const READ_SCOPES = ['okta.apps.read', 'okta.groups.read', 'okta.users.read'] as const;

export interface OktaOAuthOptions {
  clientId: string;
  /** The public half of the app's key pair (PEM, SPKI or PKCS#1). */
  publicKeyPem: string;
  /** Scopes granted to the app; a request for any other is refused. Default: the read scopes and okta.logs.read. */
  grantedScopes?: readonly string[];
  /** Require DPoP-bound tokens (first answer `use_dpop_nonce`, as Okta does). */
  dpop?: boolean;
  /** Access-token lifetime; Okta's is fixed at one hour. */
  tokenTtlSeconds?: number;
}

interface IssuedToken {
  scopes: Set<string>;
  expiresAt: number;
  /** RFC 7638 thumbprint of the DPoP key the token is bound to. */
  jkt: string | null;
}

export type AuthVerdict = { ok: true; scopes: Set<string> | 'all' } | { ok: false; reason: string };

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

export class OktaAuthServer {
  private readonly opts: OktaOAuthOptions;
  private readonly publicKey: KeyObject;
  private readonly tokens = new Map<string, IssuedToken>();
  /** Client-assertion ids already used: Okta refuses a replayed assertion. */
  private readonly usedJti = new Set<string>();
  private nonce = randomBytes(16).toString('base64url');
  /** Tokens issued so far (tests count refreshes). */
  issued = 0;

  constructor(opts: OktaOAuthOptions) {
    this.opts = opts;
    this.publicKey = createPublicKey(opts.publicKeyPem);
  }

  /** Forget every issued token, as expiry would: the next API call gets 401 and the SDK refreshes once. */
  revokeAll(): void {
    this.tokens.clear();
  }

  /** POST /oauth2/v1/token. `tokenUrl` is the absolute URL the assertion's `aud` must name. */
  token(req: EmulatorRequest, tokenUrl: string): EmulatorResponse {
    const form = req.form();
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 'The authorization grant type is not supported by the authorization server.');
    }
    if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
      return oauthError(401, 'invalid_client', 'client_assertion_type must be jwt-bearer for private_key_jwt clients.');
    }
    const assertion = parseJwt(form.get('client_assertion') ?? '');
    if (!assertion) return oauthError(401, 'invalid_client', 'The client_assertion is not a well-formed JWT.');
    if (!verifyJws(assertion, this.publicKey)) {
      return oauthError(401, 'invalid_client', 'The client_assertion signature is invalid.');
    }
    const claims = assertion.payload;
    const now = Math.floor(Date.now() / 1000);
    if (claims.iss !== this.opts.clientId || claims.sub !== this.opts.clientId) {
      return oauthError(401, 'invalid_client', 'Invalid value for \'client_id\' parameter.');
    }
    if (claims.aud !== tokenUrl) {
      return oauthError(401, 'invalid_client', `The audience of the client_assertion must be ${tokenUrl}.`);
    }
    if (typeof claims.exp !== 'number' || claims.exp < now) {
      return oauthError(401, 'invalid_client', 'The client_assertion token is expired.');
    }
    if (typeof claims.jti !== 'string' || this.usedJti.has(claims.jti)) {
      return oauthError(401, 'invalid_client', 'The client_assertion token has already been used.');
    }

    const requested = (form.get('scope') ?? '').split(' ').filter(Boolean);
    const granted = new Set(this.opts.grantedScopes ?? [...READ_SCOPES, 'okta.logs.read']);
    const refused = requested.filter((s) => !granted.has(s));
    if (requested.length === 0) return oauthError(400, 'invalid_scope', 'The authorization server requires at least one scope.');
    if (refused.length > 0) return oauthError(400, 'invalid_scope', `The following scopes are not allowed: ${refused.join(' ')}`);

    let jkt: string | null = null;
    if (this.opts.dpop) {
      const proof = this.checkProof(req.headers.dpop, 'POST', new URL(tokenUrl).pathname, null);
      if (proof === 'nonce') {
        // Okta's first answer in DPoP mode; the SDK retries once with the nonce (okta.md §5.2).
        return { ...oauthError(400, 'use_dpop_nonce', 'Authorization server requires nonce in DPoP proof.'), headers: { 'dpop-nonce': this.nonce } };
      }
      if (typeof proof === 'string') return oauthError(400, 'invalid_dpop_proof', proof);
      jkt = proof.jkt;
    }

    // Recorded only once a token is issued: a request lost to an injected fault may be retried as is.
    this.usedJti.add(claims.jti);
    const accessToken = randomBytes(32).toString('base64url');
    const ttl = this.opts.tokenTtlSeconds ?? 3600;
    this.tokens.set(accessToken, { scopes: new Set(requested), expiresAt: Date.now() + ttl * 1000, jkt });
    this.issued += 1;
    return {
      status: 200,
      headers: { 'cache-control': 'no-store', pragma: 'no-cache' },
      body: { token_type: jkt ? 'DPoP' : 'Bearer', expires_in: ttl, access_token: accessToken, scope: requested.join(' ') },
    };
  }

  /** Checks a `Bearer`/`DPoP` Authorization header on an API call. */
  check(req: EmulatorRequest, authorization: string): AuthVerdict {
    const m = /^(Bearer|DPoP) (.+)$/.exec(authorization);
    if (!m) return { ok: false, reason: 'not a bearer token' };
    const [, kind, token] = m as unknown as [string, string, string];
    const issued = this.tokens.get(token);
    if (!issued) return { ok: false, reason: 'unknown token' };
    if (issued.expiresAt <= Date.now()) {
      this.tokens.delete(token);
      return { ok: false, reason: 'expired token' };
    }
    if (issued.jkt) {
      if (kind !== 'DPoP') return { ok: false, reason: 'DPoP-bound token sent as Bearer' };
      const proof = this.checkProof(req.headers.dpop, req.method, req.path, token);
      if (typeof proof === 'string') return { ok: false, reason: proof };
      if (proof.jkt !== issued.jkt) return { ok: false, reason: 'DPoP proof signed by another key' };
    } else if (kind !== 'Bearer') {
      return { ok: false, reason: 'DPoP scheme for an unbound token' };
    }
    return { ok: true, scopes: issued.scopes };
  }

  /**
   * Verifies a DPoP proof (RFC 9449): signed by the embedded public JWK, for this method and path,
   * recent, carrying the nonce at the token endpoint and the access-token hash on API calls.
   * Returns 'nonce' when the token endpoint should ask for a nonce, or a reason string on failure.
   */
  private checkProof(header: string | string[] | undefined, method: string, path: string, accessToken: string | null): { jkt: string } | 'nonce' | string {
    if (typeof header !== 'string') return accessToken ? 'missing DPoP proof' : 'nonce';
    const proof = parseJwt(header);
    if (!proof || proof.header.typ !== 'dpop+jwt') return 'DPoP proof is not a dpop+jwt';
    const jwk = proof.header.jwk;
    if (!jwk || typeof jwk !== 'object') return 'DPoP proof has no jwk';
    let key: KeyObject;
    try {
      key = createPublicKey({ key: jwk as JsonWebKey, format: 'jwk' });
    } catch {
      return 'DPoP proof jwk is not a public key';
    }
    if (!verifyJws(proof, key)) return 'DPoP proof signature is invalid';
    const p = proof.payload;
    if (p.htm !== method) return 'DPoP proof htm does not match';
    // The SDK builds htu from the org URL, which can carry a doubled slash (gotcha 6): compare paths as the router does.
    if (typeof p.htu !== 'string' || safePath(p.htu) !== path) return 'DPoP proof htu does not match';
    if (typeof p.iat !== 'number' || Math.abs(p.iat - Date.now() / 1000) > 300) return 'DPoP proof iat is not recent';
    // Proof `jti`s are not tracked: Okta documents no replay check on API-call proofs, and the
    // reader's retries resend the proof the SDK made (gap; the safe side is to accept them).
    if (accessToken === null) {
      if (p.nonce !== this.nonce) return 'nonce';
    } else if (p.ath !== createHash('sha256').update(accessToken).digest('base64url')) {
      return 'DPoP proof ath does not match the access token';
    }
    return { jkt: thumbprint(jwk as Record<string, unknown>) };
  }
}

function safePath(url: string): string | null {
  try {
    return decodeURIComponent(new URL(url).pathname.replace(/\/{2,}/g, '/'));
  } catch {
    return null;
  }
}

function oauthError(status: number, error: string, description: string): EmulatorResponse {
  return { status, body: { error, error_description: description } };
}


const ALGS: Record<string, { hash: string; ec: boolean }> = {
  RS256: { hash: 'sha256', ec: false },
  RS384: { hash: 'sha384', ec: false },
  RS512: { hash: 'sha512', ec: false },
  ES256: { hash: 'sha256', ec: true },
  ES384: { hash: 'sha384', ec: true },
};

function verifyJws(jwt: ParsedJwt, key: KeyObject): boolean {
  const alg = typeof jwt.header.alg === 'string' ? ALGS[jwt.header.alg] : undefined;
  if (!alg) return false;
  try {
    // JWS carries ECDSA signatures as raw r||s, not DER.
    return verify(alg.hash, Buffer.from(jwt.signingInput), alg.ec ? { key, dsaEncoding: 'ieee-p1363' } : key, jwt.signature);
  } catch {
    return false;
  }
}

/** RFC 7638 JWK thumbprint: SHA-256 over the required members in lexical order. */
function thumbprint(jwk: Record<string, unknown>): string {
  const members = jwk.kty === 'EC' ? ['crv', 'kty', 'x', 'y'] : ['e', 'kty', 'n'];
  const canonical = JSON.stringify(Object.fromEntries(members.map((k) => [k, jwk[k]])));
  return createHash('sha256').update(canonical).digest('base64url');
}
