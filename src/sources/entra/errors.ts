import { SourceReadError } from '../../model/errors.ts';
import { causeChain } from '../../transport/network.ts';

/**
 * Every way an Entra read can fail, turned into one SourceReadError that names the request, the
 * status, Graph's `error.code`/`error.message` (or the AADSTS code of a sign-in failure) and what the
 * admin can do. Nothing here may carry the client secret or the certificate's private key: messages
 * are built from fixed text and server replies, and every piece of remote or library text passes
 * through `scrub` first.
 */

/** Graph answered an error status (after retries, for the statuses that are retried). */
export class EntraHttpError extends Error {
  readonly status: number;
  /** Graph's `error.code`, e.g. Authorization_RequestDenied; null when the body was not Graph's. */
  readonly code: string | null;
  readonly graphMessage: string | null;
  readonly requestId: string | null;
  readonly attempts: number;
  constructor(status: number, code: string | null, graphMessage: string | null, requestId: string | null, attempts: number) {
    super(`HTTP ${status}${code ? ` ${code}` : ''}`);
    this.name = 'EntraHttpError';
    this.status = status;
    this.code = code;
    this.graphMessage = graphMessage;
    this.requestId = requestId;
    this.attempts = attempts;
  }
}

/** Every attempt timed out or lost its connection. */
export class EntraTransportError extends Error {
  readonly kind: 'timeout' | 'network';
  readonly attempts: number;
  /** e.g. ECONNRESET, ECONNREFUSED; null for a timeout. */
  readonly code: string | null;
  constructor(kind: 'timeout' | 'network', attempts: number, code: string | null, cause: unknown) {
    super(kind === 'timeout' ? 'request timed out' : `connection failed${code ? ` (${code})` : ''}`, { cause });
    this.name = 'EntraTransportError';
    this.kind = kind;
    this.attempts = attempts;
    this.code = code;
  }
}

/**
 * The credential could not get a token (wrong secret, unknown tenant, certificate not registered,
 * authority unreachable). `@azure/identity` has already retried what it retries (§5.5), so this is
 * final for the read.
 */
export class EntraTokenError extends Error {
  /** The OAuth error, e.g. invalid_client; or the library's own code, e.g. endpoints_resolution_error. */
  readonly oauthError: string | null;
  /** The AADSTS number, e.g. 7000215. */
  readonly aadsts: string | null;
  /** The AADSTS description without trace and correlation ids, unscrubbed (the caller scrubs). */
  readonly description: string | null;
  readonly httpStatus: number | null;
  /** ECONNREFUSED and the like, when the authority could not be reached. */
  readonly networkCode: string | null;
  /** The sign-in service did not answer within the read's bound. */
  readonly timedOut: boolean;
  /** The sign-in service answered with a redirect, which the credential does not follow (invariant 10). */
  readonly redirect: { status: number; origin: string } | null;
  constructor(cause: unknown, opts: { timedOut?: boolean; redirect?: { status: number; origin: string } | null } = {}) {
    const text = cause instanceof Error ? cause.message : String(cause);
    super('token request failed', { cause });
    this.name = 'EntraTokenError';
    const aadsts = /AADSTS(\d+)/.exec(text);
    this.aadsts = aadsts ? (aadsts[1] as string) : null;
    const desc = /AADSTS\d+: (.*?)(?: Trace ID:| - Correlation ID:| - Timestamp:|$)/s.exec(text);
    this.description = desc ? `AADSTS${this.aadsts}: ${(desc[1] as string).trim()}` : null;
    const oauth = /\b(invalid_client|unauthorized_client|invalid_request|invalid_scope|invalid_grant|invalid_tenant|unsupported_grant_type|endpoints_resolution_error|temporarily_unavailable|interaction_required)\b/.exec(text);
    this.oauthError = oauth ? (oauth[1] as string) : null;
    const status = causeChain(cause)
      .map((e) => (e as { statusCode?: unknown }).statusCode)
      .find((s): s is number => typeof s === 'number' && s > 0);
    this.redirect = opts.redirect ?? null;
    this.httpStatus = this.redirect?.status ?? status ?? null;
    this.networkCode = networkCodeOf(cause);
    this.timedOut = opts.timedOut ?? false;
  }
}

/** The caller's AbortSignal fired (shutdown). */
export class EntraAbortedError extends Error {
  constructor() {
    super('entra read aborted');
    this.name = 'EntraAbortedError';
  }
}

/** A page, batch answer or object that does not have the shape Graph documents. */
export class EntraMalformedError extends Error {
  /** A more precise fix than "a proxy may be altering answers", when the cause is known. */
  readonly hint: string | null;
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = 'EntraMalformedError';
    this.hint = opts.hint ?? null;
  }
}

/**
 * A paging link or redirect that leads away from the configured Graph origin (scheme, host and
 * port), refused before anything is sent there: the bearer token, and a $batch body, go only to
 * GRAPH_BASE_URL (invariant 10). Only the origin is kept, never the full URL.
 */
export class EntraOffOriginError extends Error {
  /** What pointed there, e.g. `the next page link`, `a redirect (HTTP 307)`. */
  readonly what: string;
  /** Where it pointed: an origin, or `an invalid URL`. */
  readonly origin: string;
  /** The configured Graph origin. */
  readonly allowed: string;
  constructor(what: string, origin: string, allowed: string) {
    super(`${what} points at ${origin}, not the configured Graph origin ${allowed}`);
    this.name = 'EntraOffOriginError';
    this.what = what;
    this.origin = origin;
    this.allowed = allowed;
  }
}

/**
 * A URL's origin (`https://host:port`; the text `null` for an opaque one such as `data:`), resolved
 * against `base` when relative, or `an invalid URL`.
 */
export function originOf(url: string, base?: string): string {
  try {
    return new URL(url, base).origin;
  } catch {
    return 'an invalid URL';
  }
}

/** A certificate file that cannot be used, found before any request. */
export class EntraCertificateFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'EntraCertificateFileError';
  }
}

export interface ErrorContext {
  /** e.g. `GET /servicePrincipals/{id}/appRoleAssignedTo (page 3)`. */
  operation: string;
  /** What the request was about, to pick the 404 hint. */
  subject: 'app' | 'group' | 'user' | 'read';
  credentialKind: 'secret' | 'certificate';
  tenantId: string;
  clientId: string;
  appId: string;
  authorityHost: string;
  graphBaseUrl: string;
  timeoutMs: number;
  scrub: (text: string) => string;
}

/** The least-privileged application permissions for a read (§2). */
export const READ_PERMISSIONS = 'Application.Read.All, User.Read.All and GroupMember.Read.All';

export function toSourceReadError(err: unknown, ctx: ErrorContext): SourceReadError {
  if (err instanceof SourceReadError) return err;
  const s = ctx.scrub;
  const op = ctx.operation;

  if (err instanceof EntraAbortedError) {
    return new SourceReadError(`entra: ${op} was cancelled`, { system: 'entra', operation: op, hint: 'The read was stopped (shutdown or cancel); nothing was planned from it.', transient: true });
  }

  if (err instanceof EntraCertificateFileError) {
    return new SourceReadError(`entra: ${s(err.message)}`, {
      system: 'entra',
      operation: 'read the client certificate file',
      hint: 'ENTRA_CLIENT_CERTIFICATE_FILE must be one PEM file holding the private key and the certificate registered on the app registration (openssl pkcs12 -in cert.pfx -out cert.pem -nodes).',
    });
  }

  if (err instanceof EntraTokenError) return tokenError(err, ctx);

  if (err instanceof EntraOffOriginError) {
    return new SourceReadError(`entra: ${op} was refused: ${err.message}; nothing was sent there`, {
      system: 'entra',
      operation: op,
      hint: `Links and redirects from Microsoft Graph are followed only on GRAPH_BASE_URL's origin (${err.allowed}: scheme, host and port), so the access token never goes anywhere else. If GRAPH_BASE_URL is a proxy, it must rewrite Graph's links and Location headers to its own origin; otherwise something between this tool and Graph is altering answers.`,
      transient: false,
      cause: err,
    });
  }

  if (err instanceof EntraTransportError) {
    if (err.kind === 'timeout') {
      return new SourceReadError(`entra: ${op} timed out after ${ctx.timeoutMs} ms (${attemptsText(err.attempts)})`, {
        system: 'entra',
        operation: op,
        hint: `Microsoft Graph did not answer in time. Check the network path to ${ctx.graphBaseUrl} or raise the request timeout; the next run retries.`,
        transient: true,
        cause: err,
      });
    }
    return new SourceReadError(`entra: ${op} failed: cannot reach Microsoft Graph${err.code ? ` (${err.code})` : ''} (${attemptsText(err.attempts)})`, {
      system: 'entra',
      operation: op,
      hint: `Cannot reach ${ctx.graphBaseUrl}. Check GRAPH_BASE_URL (or ENTRA_CLOUD), DNS, proxy and firewall from where this tool runs.`,
      transient: true,
      cause: err,
    });
  }

  if (err instanceof EntraHttpError) {
    const message = err.graphMessage ? s(err.graphMessage) : undefined;
    return new SourceReadError(
      `entra: ${op} failed: HTTP ${err.status}${err.code ? ` ${err.code}` : ''}${message ? ` "${message}"` : ''}${err.attempts > 1 ? ` (${attemptsText(err.attempts)})` : ''}${err.requestId ? ` [request-id ${err.requestId}]` : ''}`,
      {
        system: 'entra',
        operation: op,
        status: err.status,
        ...(err.code ? { remoteCode: err.code } : {}),
        ...(message ? { remoteMessage: message } : {}),
        hint: statusHint(err, ctx),
        transient: err.status === 429 || err.status >= 500,
        cause: err,
      },
    );
  }

  // Anything else came out of parsing: a truncated or non-JSON body, an object without an id.
  const detail = s(err instanceof Error ? err.message : String(err)).slice(0, 300);
  return new SourceReadError(`entra: ${op} returned a response that could not be read: ${detail}`, {
    system: 'entra',
    operation: op,
    hint:
      err instanceof EntraMalformedError && err.hint
        ? err.hint
        : "Microsoft Graph's answer was cut off or was not the JSON Graph documents. A proxy between this tool and Graph may be altering responses; the run was stopped before planning and the next run retries.",
    transient: !(err instanceof EntraMalformedError && err.hint),
    cause: err,
  });
}

function statusHint(err: EntraHttpError, ctx: ErrorContext): string {
  const { status, code, attempts } = err;
  if (status === 401) {
    return `Microsoft Graph refused the access token (${code ?? '401'}). The token must come from the same cloud as GRAPH_BASE_URL (${ctx.graphBaseUrl}): check ENTRA_CLOUD, ENTRA_TENANT_ID and GRAPH_BASE_URL. If GRAPH_BASE_URL points at a proxy, the proxy must pass the Authorization header through.`;
  }
  if (status === 403) {
    return `The app registration ${ctx.clientId} lacks a Microsoft Graph permission (${code ?? '403'}). Grant it the application permissions ${READ_PERMISSIONS} (API permissions > Add a permission > Microsoft Graph > Application permissions), then "Grant admin consent" for the tenant.`;
  }
  if (status === 404) {
    if (ctx.subject === 'app') {
      return `Tenant ${ctx.tenantId} has no enterprise application (service principal) with appId ${ctx.appId}. Check ENTRA_APP_ID: it is the Docker enterprise application's Application ID (Enterprise applications > Docker > Overview), not its Object ID; and check ENTRA_TENANT_ID is the tenant the app lives in.`;
    }
    return `The ${ctx.subject === 'group' ? 'group' : 'user'} disappeared while it was being read (deleted or unassigned mid-read). Nothing was planned from this partial view; the next run reads the new state.`;
  }
  if (status === 400) {
    return `Microsoft Graph refused the query. If its message names a property, the attribute sources may name one that does not exist in this tenant: check ENTRA_ROLE_SOURCE, ENTRA_ORG_SOURCE and ENTRA_TEAM_SOURCE (extension:<name> needs ENTRA_EXTENSION_APP_ID to be the app that owns the directory extension).`;
  }
  if (status === 429) {
    return `Microsoft Graph kept throttling this app (429) after ${attemptsText(attempts)}. Graph's quotas are per app and tenant (resource units per 10 s): stop other jobs that use the same app registration, or run the sync less often; the next run retries.`;
  }
  if (status >= 500) {
    return `Microsoft Graph answered ${status} after ${attemptsText(attempts)}; this is usually a transient Graph incident (see the Microsoft 365 service health page). The run was stopped before planning; the next run retries.`;
  }
  return `Microsoft Graph refused the request (HTTP ${status}${code ? ` ${code}` : ''}). Check ENTRA_TENANT_ID (${ctx.tenantId}) and ENTRA_APP_ID (${ctx.appId}).`;
}

function tokenError(err: EntraTokenError, ctx: ErrorContext): SourceReadError {
  const s = ctx.scrub;
  const remote = err.description ? s(err.description) : undefined;
  const transient = err.timedOut || err.networkCode !== null || err.httpStatus === 429 || (err.httpStatus !== null && err.httpStatus >= 500) || err.oauthError === 'temporarily_unavailable';
  const library = err.cause instanceof Error ? s(err.cause.message).replace(/\s+/g, ' ').slice(0, 300) : '';
  // MSAL reports a failed metadata request as endpoints_resolution_error, before any token request.
  const operation =
    err.oauthError === 'endpoints_resolution_error'
      ? `GET ${ctx.authorityHost}/${ctx.tenantId}/v2.0/.well-known/openid-configuration`
      : `POST ${ctx.authorityHost}/${ctx.tenantId}/oauth2/v2.0/token`;
  // MSAL's own text for a redirect quotes the Location in full; the origin is what the admin needs.
  const what = err.redirect ? `the sign-in service answered HTTP ${err.redirect.status}, a redirect to ${err.redirect.origin}, which is never followed` : (remote ?? (library || 'no token'));
  return new SourceReadError(`entra: signing in to Microsoft Entra ID failed: ${what}`, {
    system: 'entra',
    operation,
    ...(err.httpStatus !== null ? { status: err.httpStatus } : {}),
    ...(err.oauthError || err.aadsts ? { remoteCode: err.aadsts ? `AADSTS${err.aadsts}` : (err.oauthError as string) } : {}),
    ...(remote ? { remoteMessage: remote } : {}),
    hint: tokenHint(err, ctx),
    transient,
    cause: err,
  });
}

function tokenHint(err: EntraTokenError, ctx: ErrorContext): string {
  const cred = ctx.credentialKind === 'secret' ? 'ENTRA_CLIENT_SECRET' : 'ENTRA_CLIENT_CERTIFICATE_FILE';
  if (err.redirect) {
    return `The sign-in request goes only to the configured authority (${ctx.authorityHost}), and a redirect is never followed, so the ${ctx.credentialKind === 'secret' ? 'client secret' : 'client assertion'} cannot be re-sent anywhere else. Microsoft's sign-in service does not redirect token requests: point ENTRA_AUTHORITY_HOST (or ENTRA_CLOUD) at the authority itself, or at a proxy that forwards requests instead of redirecting them.`;
  }
  switch (err.aadsts) {
    case '7000215':
      return `ENTRA_CLIENT_SECRET is not a valid secret of app registration ${ctx.clientId} (ENTRA_CLIENT_ID). Use the secret's Value, shown once when it was created, not its Secret ID; and check it was not deleted.`;
    case '7000222':
      return 'The client secret has expired. Create a new one on the app registration (Certificates & secrets) and update ENTRA_CLIENT_SECRET.';
    case '700016':
      return `Tenant ${ctx.tenantId} has no app registration with client id ${ctx.clientId}. Check ENTRA_CLIENT_ID (the Application (client) ID of the registration this tool signs in as, not the Docker app) and ENTRA_TENANT_ID.`;
    case '90002':
    case '90023':
      return `Tenant ${ctx.tenantId} was not found in this cloud. Check ENTRA_TENANT_ID (the Directory (tenant) ID or a verified domain) and ENTRA_CLOUD.`;
    case '700027':
    case '700024':
    case '700021':
    case '700212':
    case '50027':
      return `Entra refused the certificate credential. The certificate in ENTRA_CLIENT_CERTIFICATE_FILE must be uploaded to app registration ${ctx.clientId} (Certificates & secrets > Certificates), still be valid, and the file's private key must belong to it.`;
    case '7000218':
      return `No credential reached Entra: set ${cred}.`;
    case '1002012':
    case '70011':
      return 'Entra refused the Graph scope. ENTRA_CLOUD must be the cloud the tenant lives in (its sign-in authority, Graph endpoint and scope go together).';
    default:
      break;
  }
  if (err.timedOut) {
    return `The sign-in service at ${ctx.authorityHost} did not answer in time. Check the network path to it (ENTRA_CLOUD or ENTRA_AUTHORITY_HOST, proxy, firewall) or raise the request timeout; the next run retries.`;
  }
  if (err.networkCode) {
    return `Cannot reach the sign-in authority ${ctx.authorityHost} (${err.networkCode}). Check ENTRA_CLOUD (or ENTRA_AUTHORITY_HOST), DNS, proxy and firewall from where this tool runs.`;
  }
  if (err.oauthError === 'endpoints_resolution_error') {
    return `The tenant's sign-in metadata could not be read from ${ctx.authorityHost}/${ctx.tenantId}. Check ENTRA_TENANT_ID and ENTRA_CLOUD (or ENTRA_AUTHORITY_HOST), and that this tool can reach that host over TLS (a TLS-inspecting proxy's CA must be trusted).`;
  }
  if (err.oauthError === 'temporarily_unavailable' || err.httpStatus === 429 || (err.httpStatus !== null && err.httpStatus >= 500)) {
    return 'The Microsoft Entra sign-in service is temporarily unavailable or throttling this app (the credential already retried). The run was stopped before planning; the next run retries.';
  }
  return `Signing in failed. Check ENTRA_TENANT_ID (${ctx.tenantId}), ENTRA_CLIENT_ID (${ctx.clientId}) and ${cred}${ctx.credentialKind === 'certificate' ? ' (the certificate must be registered on that app)' : ''}.`;
}

function networkCodeOf(err: unknown): string | null {
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && /^(ECONNRESET|ECONNREFUSED|EPIPE|ETIMEDOUT|EAI_AGAIN|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|UND_ERR_|CERT_|UNABLE_TO_|SELF_SIGNED|DEPTH_ZERO|ERR_TLS)/.test(code)) return code;
  }
  return null;
}

export function errorCode(err: unknown): string | null {
  return networkCodeOf(err);
}

export function attemptsText(n: number): string {
  return n === 1 ? '1 attempt' : `${n} attempts`;
}
