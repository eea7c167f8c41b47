import { X509Certificate, constants, createHash, randomBytes, randomUUID, verify, type KeyObject } from 'node:crypto';
import type { EmulatorRequest, EmulatorResponse } from '../http/emulator.ts';
import { parseJwt, type ParsedJwt } from '../http/jwt.ts';

/**
 * The Microsoft identity platform as `@azure/identity` reaches it for an app signing in with its
 * own credentials (entra-graph.md §5.5, §8.2–8.3): the tenant's OpenID discovery document and the
 * v2.0 token endpoint, for a client secret or a certificate-signed client assertion. Errors are
 * OAuth JSON with AADSTS codes, as Entra answers them (§4). Issued tokens are opaque; Graph routes
 * ask this class whether a bearer is one of them.
 */

/** The only scope the emulator issues tokens for: Graph in the public cloud (§5.7). */
export const GRAPH_SCOPE = 'https://graph.microsoft.com/.default';

const ASSERTION_TYPE = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';
/** Clock skew tolerated on assertion times, as token services usually allow. */
const SKEW_SECONDS = 300;

export interface IdentityOptions {
  tenantId: string;
  clientId: string;
  clientSecret: string;
  /** The public certificate registered on the app for certificate credentials (PEM). */
  clientCertificatePem?: string;
  /** Access-token lifetime; Entra's are about an hour. MSAL reuses none of ≤300 s (gotcha 9). */
  tokenTtlSeconds?: number;
}

export type BearerVerdict = 'valid' | 'missing' | 'unknown';

export class IdentityPlatform {
  private readonly opts: IdentityOptions;
  private readonly certificate: X509Certificate | null;
  private readonly tokens = new Map<string, number>();
  /** Tokens issued so far, and every scope asked for (tests check the scope sent). */
  issued = 0;
  readonly scopesRequested: string[] = [];

  constructor(opts: IdentityOptions) {
    this.opts = opts;
    this.certificate = opts.clientCertificatePem ? new X509Certificate(opts.clientCertificatePem) : null;
  }

  /** Forget every issued token, as expiry or revocation would. */
  revokeAll(): void {
    this.tokens.clear();
  }

  private tenantMatches(tenant: string | undefined): boolean {
    return (tenant ?? '').toLowerCase() === this.opts.tenantId.toLowerCase();
  }

  /**
   * `GET /{tenant}/v2.0/.well-known/openid-configuration`. From identity 4.13 the `issuer` must
   * match the authority's scheme, host and port (gotcha 4), hence `origin` everywhere.
   */
  discovery(req: EmulatorRequest, origin: string): EmulatorResponse {
    const tenant = req.params.tenant ?? '';
    if (!this.tenantMatches(tenant)) return tenantNotFound(tenant);
    const t = this.opts.tenantId;
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'max-age=86400, private' },
      body: {
        token_endpoint: `${origin}/${t}/oauth2/v2.0/token`,
        token_endpoint_auth_methods_supported: ['client_secret_post', 'private_key_jwt', 'client_secret_basic'],
        jwks_uri: `${origin}/${t}/discovery/v2.0/keys`,
        response_modes_supported: ['query', 'fragment', 'form_post'],
        subject_types_supported: ['pairwise'],
        id_token_signing_alg_values_supported: ['RS256'],
        response_types_supported: ['code', 'id_token', 'code id_token', 'id_token token'],
        scopes_supported: ['openid', 'profile', 'email', 'offline_access'],
        issuer: `${origin}/${t}/v2.0`,
        request_uri_parameter_supported: false,
        userinfo_endpoint: `${origin}/oidc/userinfo`,
        authorization_endpoint: `${origin}/${t}/oauth2/v2.0/authorize`,
        device_authorization_endpoint: `${origin}/${t}/oauth2/v2.0/devicecode`,
        http_logout_supported: true,
        frontchannel_logout_supported: true,
        end_session_endpoint: `${origin}/${t}/oauth2/v2.0/logout`,
        claims_supported: ['sub', 'iss', 'aud', 'exp', 'iat', 'nonce', 'tid'],
        tenant_region_scope: 'EU',
        cloud_instance_name: 'microsoftonline.com',
        cloud_graph_host_name: 'graph.windows.net',
        msgraph_host: 'graph.microsoft.com',
      },
    };
  }

  /** `POST /{tenant}/oauth2/v2.0/token` (the query, e.g. client-request-id, is ignored). */
  token(req: EmulatorRequest, origin: string): EmulatorResponse {
    const tenant = req.params.tenant ?? '';
    if (!this.tenantMatches(tenant)) return tenantNotFound(tenant);
    const form = req.form();
    if (form.get('grant_type') !== 'client_credentials') {
      return oauthError(400, 'unsupported_grant_type', 70003, 'The app requested an unsupported grant type.');
    }
    const clientId = (form.get('client_id') ?? '').toLowerCase();
    if (clientId !== this.opts.clientId.toLowerCase()) {
      return oauthError(400, 'unauthorized_client', 700016, `Application with identifier '${form.get('client_id') ?? ''}' was not found in the directory '${this.opts.tenantId}'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.`);
    }
    const scope = form.get('scope') ?? '';
    this.scopesRequested.push(scope);
    if (scope.split(' ').filter(Boolean).join(' ') !== GRAPH_SCOPE) {
      return oauthError(400, 'invalid_scope', 1002012, `The provided value for scope ${scope} is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).`);
    }

    const secret = form.get('client_secret');
    const assertion = form.get('client_assertion');
    if (secret !== null) {
      // The secret is compared and never echoed: an error must not carry what the client sent.
      if (secret !== this.opts.clientSecret) {
        return oauthError(401, 'invalid_client', 7000215, `Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '${this.opts.clientId}'.`);
      }
    } else if (assertion !== null) {
      if (form.get('client_assertion_type') !== ASSERTION_TYPE) {
        return oauthError(400, 'invalid_request', 50027, 'client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.');
      }
      const problem = this.checkAssertion(assertion, `${origin}/${this.opts.tenantId}/oauth2/v2.0/token`);
      if (problem) return problem;
    } else {
      return oauthError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
    }

    const accessToken = randomBytes(32).toString('base64url');
    const ttl = this.opts.tokenTtlSeconds ?? 3599;
    this.tokens.set(accessToken, Date.now() + ttl * 1000);
    this.issued += 1;
    return {
      status: 200,
      headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache', pragma: 'no-cache', 'x-ms-request-id': randomUUID() },
      body: { token_type: 'Bearer', expires_in: ttl, ext_expires_in: ttl, access_token: accessToken },
    };
  }

  /** Whether an Authorization header carries a token this platform issued and that has not expired. */
  check(authorization: string | undefined): BearerVerdict {
    if (!authorization) return 'missing';
    const m = /^Bearer (\S+)$/i.exec(authorization.trim());
    if (!m) return 'unknown';
    const expiresAt = this.tokens.get(m[1] as string);
    if (expiresAt === undefined) return 'unknown';
    if (expiresAt <= Date.now()) {
      this.tokens.delete(m[1] as string);
      return 'unknown';
    }
    return 'valid';
  }

  /**
   * A certificate credential's client assertion (§5.5): a JWT signed PS256 (RS256 accepted) by the
   * registered certificate's key, naming that certificate by `x5t#S256` (or SHA-1 `x5t`), with
   * `aud` = the token endpoint and `iss` = `sub` = the client id, not expired.
   */
  private checkAssertion(compact: string, tokenEndpoint: string): EmulatorResponse | null {
    const jwt = parseJwt(compact);
    if (!jwt) return oauthError(401, 'invalid_client', 50027, 'JWT token is invalid or malformed.');
    if (!this.certificate) {
      return oauthError(401, 'invalid_client', 700027, 'Client assertion failed signature validation. [Reason - The key was not found.] The app has no certificate registered.');
    }
    const der = this.certificate.raw;
    const s256 = createHash('sha256').update(der).digest('base64url');
    const s1 = createHash('sha1').update(der).digest('base64url');
    const named = jwt.header['x5t#S256'] ?? jwt.header.x5t;
    if (named !== s256 && named !== s1) {
      return oauthError(401, 'invalid_client', 700027, `Client assertion failed signature validation. [Reason - The key was not found., Thumbprint of key used by client: '${String(named)}', Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '${this.opts.clientId}'.]`);
    }
    if (!verifySignature(jwt, this.certificate.publicKey)) {
      return oauthError(401, 'invalid_client', 700027, 'Client assertion failed signature validation. [Reason - The provided signature value did not match the expected signature value.]');
    }
    const c = jwt.payload;
    const now = Math.floor(Date.now() / 1000);
    const aud = typeof c.aud === 'string' ? c.aud.split('?')[0] : null;
    if (aud !== tokenEndpoint) {
      return oauthError(401, 'invalid_client', 700212, `No matching federated identity record found for presented assertion audience '${String(c.aud)}'.`);
    }
    if (String(c.iss).toLowerCase() !== this.opts.clientId.toLowerCase() || String(c.sub).toLowerCase() !== this.opts.clientId.toLowerCase()) {
      return oauthError(401, 'invalid_client', 700021, 'Client assertion application identifier doesn\'t match \'client_id\' parameter.');
    }
    if (typeof c.exp !== 'number' || c.exp + SKEW_SECONDS < now) {
      return oauthError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    }
    if (typeof c.nbf === 'number' && c.nbf - SKEW_SECONDS > now) {
      return oauthError(401, 'invalid_client', 700024, 'Client assertion is not within its valid time range.');
    }
    return null;
  }
}

/** OAuth JSON as the token endpoint answers errors (§4): error, AADSTS description, codes, ids. */
export function oauthError(status: number, error: string, aadsts: number, text: string): EmulatorResponse {
  const traceId = randomUUID();
  const correlationId = randomUUID();
  const timestamp = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return {
    status,
    headers: { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store, no-cache', 'x-ms-request-id': traceId },
    body: {
      error,
      error_description: `AADSTS${aadsts}: ${text} Trace ID: ${traceId} Correlation ID: ${correlationId} Timestamp: ${timestamp}`,
      error_codes: [aadsts],
      timestamp,
      trace_id: traceId,
      correlation_id: correlationId,
      error_uri: `https://login.microsoftonline.com/error?code=${aadsts}`,
    },
  };
}

function tenantNotFound(tenant: string): EmulatorResponse {
  return oauthError(400, 'invalid_tenant', 90002, `Tenant '${tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
}


function verifySignature(jwt: ParsedJwt, key: KeyObject): boolean {
  const data = Buffer.from(jwt.signingInput);
  try {
    if (jwt.header.alg === 'PS256') {
      return verify('sha256', data, { key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: constants.RSA_PSS_SALTLEN_DIGEST }, jwt.signature);
    }
    if (jwt.header.alg === 'RS256') return verify('sha256', data, key, jwt.signature);
    return false;
  } catch {
    return false;
  }
}
