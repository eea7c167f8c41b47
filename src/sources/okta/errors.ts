import { OktaApiError } from '@okta/okta-sdk-nodejs';
import { SourceReadError } from '../../model/errors.ts';

/**
 * Every way an Okta read can fail, turned into one SourceReadError that names the request, the
 * status, Okta's errorCode/errorSummary and what the admin can do. Nothing here may carry the API
 * token or the private key: messages are built from fixed text and server replies, and every
 * piece of remote or library text passes through `scrub` first.
 */

/** Added to the response the executor hands the SDK, so a translated error can say how often it tried. */
export const ATTEMPTS_HEADER = 'x-docker-idp-sync-attempts';

/** The transport gave up: every attempt timed out or lost its connection. */
export class OktaTransportError extends Error {
  readonly kind: 'timeout' | 'network';
  readonly attempts: number;
  /** e.g. ECONNRESET, ECONNREFUSED; null for a timeout. */
  readonly code: string | null;
  constructor(kind: 'timeout' | 'network', attempts: number, code: string | null, cause: unknown) {
    super(kind === 'timeout' ? 'request timed out' : `connection failed${code ? ` (${code})` : ''}`, { cause });
    this.name = 'OktaTransportError';
    this.kind = kind;
    this.attempts = attempts;
    this.code = code;
  }
}

/**
 * The OAuth token endpoint refused us. The SDK would swallow this and send `Bearer undefined`
 * (okta.md §5.2), so the executor raises it itself. `httpStatus`, not `status`: the SDK retries
 * any error with `status === 401` once, which for a refused client only doubles the refusal.
 */
export class OktaTokenError extends Error {
  readonly httpStatus: number;
  readonly error: string | null;
  readonly description: string | null;
  readonly attempts: number;
  constructor(httpStatus: number, error: string | null, description: string | null, attempts: number) {
    super(`token request failed: HTTP ${httpStatus}${error ? ` ${error}` : ''}`);
    this.name = 'OktaTokenError';
    this.httpStatus = httpStatus;
    this.error = error;
    this.description = description;
    this.attempts = attempts;
  }
}

/** The caller's AbortSignal fired (shutdown). */
export class OktaAbortedError extends Error {
  constructor() {
    super('okta read aborted');
    this.name = 'OktaAbortedError';
  }
}

/** A page or item that does not have the shape Okta documents. */
export class OktaMalformedError extends Error {
  constructor(message: string, cause?: unknown) {
    super(message, cause === undefined ? undefined : { cause });
    this.name = 'OktaMalformedError';
  }
}

/**
 * A request the executor refused to send because its URL, or the Location of a redirect, is not on
 * OKTA_ORG_URL's origin. Only origins are kept: a full URL may carry a token or a cursor.
 */
export class OktaOffOriginError extends Error {
  /** The origin the request would have gone to. */
  readonly foreign: string;
  /** OKTA_ORG_URL's origin. */
  readonly expected: string;
  /** The 3xx that pointed there; null when the URL itself (a paging `next` link) was elsewhere. */
  readonly redirectStatus: number | null;
  constructor(foreign: string, expected: string, redirectStatus: number | null) {
    super(`refused to send a request to ${foreign}: only ${expected} gets the Okta credentials`);
    this.name = 'OktaOffOriginError';
    this.foreign = foreign;
    this.expected = expected;
    this.redirectStatus = redirectStatus;
  }
}

/** A listing ran past the page cap that `maxUsers` implies: Okta's paging loops, or the cap is too low. */
export class OktaListingTooLongError extends Error {
  readonly maxPages: number;
  readonly pageSize: number;
  readonly maxUsers: number;
  constructor(maxPages: number, pageSize: number, maxUsers: number) {
    super(`the listing goes on past ${maxPages} pages of ${pageSize}`);
    this.name = 'OktaListingTooLongError';
    this.maxPages = maxPages;
    this.pageSize = pageSize;
    this.maxUsers = maxUsers;
  }
}

export interface ErrorContext {
  /** e.g. `GET /api/v1/apps/0oa1/users (page 3)`. */
  operation: string;
  /** What the request was about, to pick the 404 hint. */
  subject: 'app' | 'group' | 'token';
  authKind: 'token' | 'privateKey';
  orgUrl: string;
  appId: string;
  timeoutMs: number;
  scrub: (text: string) => string;
}

const READ_SCOPES = 'okta.apps.read okta.groups.read okta.users.read';

export function toSourceReadError(err: unknown, ctx: ErrorContext): SourceReadError {
  if (err instanceof SourceReadError) return err;
  const s = ctx.scrub;
  const op = ctx.operation;

  if (err instanceof OktaAbortedError) {
    return new SourceReadError(`okta: ${op} was cancelled`, { system: 'okta', operation: op, hint: 'The read was stopped (shutdown or cancel); nothing was planned from it.', transient: true });
  }

  if (err instanceof OktaOffOriginError) {
    const what = err.redirectStatus === null
      ? `the paging link (Link rel="next") from Okta's previous answer points to ${err.foreign}`
      : `Okta answered HTTP ${err.redirectStatus}, a redirect to ${err.foreign}`;
    return new SourceReadError(`okta: ${op} refused: ${what}, which is not the origin of OKTA_ORG_URL (${err.expected}); nothing was sent there`, {
      system: 'okta',
      operation: op,
      ...(err.redirectStatus === null ? {} : { status: err.redirectStatus }),
      hint: `Okta credentials go only to OKTA_ORG_URL's own scheme, host and port. If the org moved (a custom domain, another URL), set OKTA_ORG_URL to the address Okta answers from; otherwise something between this tool and Okta (a proxy, a captive portal) is rewriting answers. The run was stopped before planning.`,
      // An admin has to look: retrying would only be refused again.
      transient: false,
      cause: err,
    });
  }

  if (err instanceof OktaListingTooLongError) {
    return new SourceReadError(`okta: ${op} refused: ${err.message}, more than ${err.maxUsers} users (MAX_USERS) can need`, {
      system: 'okta',
      operation: op,
      hint: `If the Docker app really has more than ${err.maxUsers} users or group members, raise MAX_USERS (sync.maxUsers); otherwise Okta (or a proxy) keeps sending next links that never end. The run was stopped before planning.`,
      transient: false,
      cause: err,
    });
  }

  if (err instanceof OktaTransportError) {
    if (err.kind === 'timeout') {
      return new SourceReadError(`okta: ${op} timed out after ${ctx.timeoutMs} ms (${attemptsText(err.attempts)})`, {
        system: 'okta',
        operation: op,
        hint: `Okta did not answer in time. Check the network path to OKTA_ORG_URL (${ctx.orgUrl}) or raise the request timeout; the next run retries.`,
        transient: true,
        cause: err,
      });
    }
    return new SourceReadError(`okta: ${op} failed: cannot reach Okta${err.code ? ` (${err.code})` : ''} (${attemptsText(err.attempts)})`, {
      system: 'okta',
      operation: op,
      hint: `Cannot reach OKTA_ORG_URL (${ctx.orgUrl}). Check the URL, DNS, proxy and firewall from where this tool runs.`,
      transient: true,
      cause: err,
    });
  }

  if (err instanceof OktaTokenError) {
    const remote = err.description ?? err.error ?? undefined;
    const transient = err.httpStatus === 429 || err.httpStatus >= 500;
    return new SourceReadError(
      `okta: requesting an OAuth access token failed: HTTP ${err.httpStatus}${err.error ? ` ${err.error}` : ''}${remote && remote !== err.error ? `: ${s(remote)}` : ''}`,
      {
        system: 'okta',
        operation: 'POST /oauth2/v1/token',
        status: err.httpStatus,
        ...(err.error ? { remoteCode: err.error } : {}),
        ...(remote ? { remoteMessage: s(remote) } : {}),
        hint: tokenHint(err, ctx),
        transient,
        cause: err,
      },
    );
  }

  if (err instanceof OktaApiError) {
    const status = err.status;
    const code = typeof err.errorCode === 'string' || typeof err.errorCode === 'number' ? String(err.errorCode) : undefined;
    const summary = typeof err.errorSummary === 'string' ? s(err.errorSummary) : undefined;
    const attempts = attemptsOf(err.headers);
    return new SourceReadError(
      `okta: ${op} failed: HTTP ${status}${code ? ` ${code}` : ''}${summary ? ` "${summary}"` : ''}${attempts > 1 ? ` (${attemptsText(attempts)})` : ''}`,
      {
        system: 'okta',
        operation: op,
        status,
        ...(code ? { remoteCode: code } : {}),
        ...(summary ? { remoteMessage: summary } : {}),
        hint: statusHint(status, code, attempts, ctx),
        transient: status === 429 || status >= 500,
        cause: err,
      },
    );
  }

  // The SDK's HttpError: a non-2xx whose body is not JSON (a load balancer's HTML page, a proxy).
  if (isHttpError(err)) {
    const status = Number(err.status);
    const attempts = attemptsOf(err.headers);
    const snippet = s(String(err.message).replace(/^HTTP \d+\s*/, '').replace(/\s+/g, ' ').slice(0, 200));
    return new SourceReadError(`okta: ${op} failed: HTTP ${status} with a non-JSON body${attempts > 1 ? ` (${attemptsText(attempts)})` : ''}`, {
      system: 'okta',
      operation: op,
      status,
      ...(snippet ? { remoteMessage: snippet } : {}),
      hint: statusHint(status, undefined, attempts, ctx),
      transient: status === 429 || status >= 500,
      cause: err,
    });
  }

  // Anything else came out of parsing: a truncated or non-JSON 200, an item without an id.
  const detail = err instanceof Error ? s(err.message).slice(0, 300) : s(String(err)).slice(0, 300);
  return new SourceReadError(`okta: ${op} returned a response that could not be read: ${detail}`, {
    system: 'okta',
    operation: op,
    hint: 'Okta\'s answer was cut off or was not the JSON Okta documents. A proxy between this tool and Okta may be altering responses; the run was stopped before planning and the next run retries.',
    transient: true,
    cause: err,
  });
}

function statusHint(status: number, code: string | undefined, attempts: number, ctx: ErrorContext): string {
  if (status === 401) {
    return ctx.authKind === 'token'
      ? 'Okta rejected the API token (E0000011). Check OKTA_API_TOKEN: it may be mistyped, revoked, expired after 30 days unused, or from a different org than OKTA_ORG_URL.'
      : 'Okta rejected the OAuth access token (E0000011). Check OKTA_CLIENT_ID, that the public key registered on the service app matches OKTA_PRIVATE_KEY (and OKTA_KEY_ID), and that OKTA_ORG_URL is the org the app lives in.';
  }
  if (status === 403) {
    return ctx.authKind === 'token'
      ? `The API token lacks permission (${code ?? '403'}). A token acts with its creator's admin role: create it as an admin who can read apps, groups and users (e.g. Read-Only Administrator).`
      : `The OAuth service app lacks permission (${code ?? '403'}). Grant it the scopes ${READ_SCOPES} (Okta API Scopes tab), request them all (OKTA_SCOPES), and assign it an admin role such as Read-Only Administrator (Admin roles tab).`;
  }
  if (status === 404) {
    return ctx.subject === 'group'
      ? 'The group disappeared while it was being read (deleted or unassigned mid-read). Nothing was planned from this partial view; the next run reads the new state.'
      : `Okta has no app with id ${ctx.appId}. Check OKTA_APP_ID (the 0oa… id in the Docker app's Admin Console URL) and that OKTA_ORG_URL (${ctx.orgUrl}) is the org the app is in.`;
  }
  if (status === 429) {
    return `Okta kept answering 429 (rate limit) after ${attemptsText(attempts)}. An API token or OAuth app gets a share of each rate-limit bucket (50% by default): raise this client's share in Admin Console > Security > API > Rate limits, stop other jobs using the same token, or run the sync less often.`;
  }
  if (status >= 500) {
    return `Okta answered ${status} after ${attemptsText(attempts)}; this is usually a transient Okta incident (see status.okta.com). The run was stopped before planning; the next run retries.`;
  }
  return `Okta refused the request (HTTP ${status}${code ? ` ${code}` : ''}). Check OKTA_ORG_URL (${ctx.orgUrl}) and OKTA_APP_ID (${ctx.appId}).`;
}

function tokenHint(err: OktaTokenError, ctx: ErrorContext): string {
  if (err.httpStatus === 429 || err.httpStatus >= 500) {
    return `Okta's token endpoint answered ${err.httpStatus} after ${attemptsText(err.attempts)}; the next run retries. If it persists, check status.okta.com and the rate limits of /oauth2/v1/token.`;
  }
  if (err.error === 'invalid_scope') {
    return `The OAuth service app is not granted every scope requested (OKTA_SCOPES). Grant ${READ_SCOPES} on the app's Okta API Scopes tab.`;
  }
  if (err.error === 'invalid_dpop_proof' || err.error === 'use_dpop_nonce') {
    return 'Okta refused the DPoP proof. Check that the service app\'s DPoP setting matches what this tool supports (RSA keys), or turn "Require DPoP" off for the app.';
  }
  if (err.httpStatus === 0) {
    return 'The token endpoint answered with something that is not an OAuth token response. Check that OKTA_ORG_URL is the Okta org itself, not a custom authorization server or a proxy page.';
  }
  return `Okta refused the OAuth client${err.error ? ` (${err.error})` : ''}. Check OKTA_CLIENT_ID, that the service app uses "Public key / Private key" client authentication with a public key matching OKTA_PRIVATE_KEY (and OKTA_KEY_ID), and that OKTA_ORG_URL (${ctx.orgUrl}) is the org the app lives in.`;
}

/** A private key the SDK could not use to sign the client assertion. */
export function privateKeyError(operation: string): SourceReadError {
  // The library's message is dropped on purpose: key parsers may quote the input they choked on.
  return new SourceReadError('okta: the configured private key could not sign the OAuth client assertion', {
    system: 'okta',
    operation,
    hint: 'OKTA_PRIVATE_KEY is not a valid RSA or EC private key in PEM (PKCS#1 or PKCS#8) or JWK JSON form. Give the whole key, including the BEGIN/END lines, or the JWK Okta generated (OKTA_PRIVATE_KEY_FILE avoids line-break mangling).',
  });
}

export function isPrivateKeyParseError(err: unknown): boolean {
  return err instanceof Error && /Unable to convert private key|Key type .* is not supported/.test(err.message);
}

function isHttpError(err: unknown): err is { status: number | string; message: string; headers?: unknown } {
  return err instanceof Error && err.name === 'HttpError' && 'status' in err;
}

function attemptsOf(headers: unknown): number {
  const get = (headers as { get?: (n: string) => string | null } | undefined)?.get;
  if (typeof get !== 'function') return 1;
  const n = Number(get.call(headers, ATTEMPTS_HEADER));
  return Number.isInteger(n) && n > 0 ? n : 1;
}

function attemptsText(n: number): string {
  return n === 1 ? '1 attempt' : `${n} attempts`;
}

/** Okta's "no such resource": a JSON 404 with E0000007. A bare 404 (a proxy's page) is an error, not an answer. */
export function isNotFound(err: unknown): boolean {
  if (err instanceof OktaApiError) return err.status === 404 && err.errorCode === 'E0000007';
  return err instanceof SourceReadError && err.status === 404 && err.remoteCode === 'E0000007';
}
