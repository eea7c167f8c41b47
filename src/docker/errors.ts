/**
 * DockerApiError: a failed Docker SCIM request, named by method and path, with Docker's own SCIM
 * `detail` and `scimType`, and a hint that tells the admin what to do. Built only from what the
 * client knows about the request, never from its headers, so the token cannot end up in one.
 */
import { AppError, type AppErrorInit } from '../model/errors.ts';
import { causeChain } from '../transport/network.ts';

export interface DockerApiErrorInit extends Omit<AppErrorInit, 'system' | 'remoteMessage' | 'remoteCode'> {
  /** DOCKER_SEATS, DOCKER_UNAUTHORIZED, DOCKER_CONFLICT, DOCKER_NOT_FOUND, DOCKER_RATE_LIMITED, DOCKER_HTTP_<status>, DOCKER_NETWORK, DOCKER_TIMEOUT, DOCKER_BAD_RESPONSE, DOCKER_REDIRECT, DOCKER_READ_LIMIT. */
  code: string;
  scimType?: string;
  detail?: string;
}

export class DockerApiError extends AppError {
  readonly code: string;
  readonly scimType?: string;
  readonly detail?: string;

  constructor(message: string, init: DockerApiErrorInit) {
    const { code, scimType, detail, ...rest } = init;
    super(message, {
      ...rest,
      system: 'docker',
      ...(detail !== undefined ? { remoteMessage: detail } : {}),
      ...(scimType !== undefined ? { remoteCode: scimType } : {}),
    });
    this.code = code;
    if (scimType !== undefined) this.scimType = scimType;
    if (detail !== undefined) this.detail = detail;
  }
}

/** Docker's seat error text (troubleshoot-sso.md). Its HTTP status is undocumented, so the text decides. */
const SEATS = /not enough seats in organization '([^']*)'/i;

const TOKEN_HINT =
  'Docker rejected the SCIM token. Check that DOCKER_SCIM_TOKEN holds the API token from Docker Home → Identity & auth (Admin Console) → SSO and SCIM → your connection → Actions → Setup SCIM (generate a new one if it was rotated or revoked), and that DOCKER_SCIM_BASE_URL is the SCIM base URL shown on the same page.';

export interface ResponseFailure {
  /** e.g. "PUT /Users/d80f… (update jon@example.com)". */
  operation: string;
  status: number;
  detail?: string;
  scimType?: string;
  /** How many times the request was sent. */
  attempts: number;
}

/** The error for a non-success HTTP answer, with the code and hint its status and detail call for. */
export function responseError(f: ResponseFailure): DockerApiError {
  const seats = f.detail ? SEATS.exec(f.detail) : null;
  let code: string;
  let hint: string;
  if (seats) {
    code = 'DOCKER_SEATS';
    hint = `Organization '${seats[1]}' has no free seat. Buy more seats for it, or free seats by removing users or pending invitations in Docker Admin Console → Members, then run the sync again.`;
  } else if (f.status === 401) {
    code = 'DOCKER_UNAUTHORIZED';
    hint = TOKEN_HINT;
  } else if (f.status === 403) {
    code = 'DOCKER_HTTP_403';
    hint =
      'Docker accepted the token but refused the request. SCIM needs Docker Business with SSO configured; check that SCIM is enabled on the SSO connection, that the connection covers the organization named in dockerOrg or the org:team group, and that the user\'s email domain is verified on it (list the verified domains in DOCKER_VERIFIED_DOMAINS and the orgs in DOCKER_ORGS to have such users held before any write).';
  } else if (f.status === 404) {
    code = 'DOCKER_NOT_FOUND';
    hint = 'Docker has no such resource. If this was a listing, check that the SCIM base URL ends in /v2/scim/2.0; if it was a user or team, it was probably removed in Docker by hand, and the next run will see that.';
  } else if (f.status === 409) {
    code = 'DOCKER_CONFLICT';
    hint = 'Another Docker account or team already uses this name (userNames compare case-insensitively). Check for a duplicate or a manually added account in Docker Admin Console → Members.';
  } else if (f.status === 429) {
    code = 'DOCKER_RATE_LIMITED';
    hint = `Docker kept answering 429 (rate limited) after ${f.attempts} attempts. Lower the Docker concurrency, run the sync less often, or wait a few minutes and run it again.`;
  } else {
    code = `DOCKER_HTTP_${f.status}`;
    if (f.status >= 500) hint = `Docker's SCIM service failed ${f.attempts} time(s) in a row. This is usually temporary: run the sync again later and check https://www.dockerstatus.com.`;
    else if (f.scimType === 'invalidValue') hint = 'Docker rejected a value. Check the dockerRole (member, editor or owner), that dockerOrg names an organization of this SSO connection, and that team groups are named <organization>:<team>.';
    else if (f.scimType === 'invalidFilter') hint = 'Docker rejected a SCIM filter this tool built; please report it with the log line of this request.';
    else hint = 'Docker refused the request as malformed; please report it with the log line of this request.';
  }
  const detail = f.detail ? `: ${f.detail}` : '';
  const scimType = f.scimType ? ` (scimType ${f.scimType})` : '';
  return new DockerApiError(`Docker SCIM ${f.operation} failed with HTTP ${f.status}${detail}${scimType}`, {
    operation: f.operation,
    status: f.status,
    code,
    hint,
    transient: f.status === 429 || f.status >= 500,
    ...(f.detail !== undefined ? { detail: f.detail } : {}),
    ...(f.scimType !== undefined ? { scimType: f.scimType } : {}),
  });
}

export function networkError(operation: string, origin: string, attempts: number, cause: unknown, timeoutMs: number | null): DockerApiError {
  if (timeoutMs !== null) {
    return new DockerApiError(`Docker SCIM ${operation} got no answer within ${timeoutMs} ms (${attempts} attempt(s))`, {
      operation,
      code: 'DOCKER_TIMEOUT',
      hint: `Check the network path to ${origin}, or raise the Docker request timeout; Docker may also be slow right now, so running again later can help.`,
      transient: true,
      cause,
    });
  }
  const reason = describeCause(cause);
  return new DockerApiError(`Docker SCIM ${operation} could not reach ${origin} (${attempts} attempt(s))${reason ? `: ${reason}` : ''}`, {
    operation,
    code: 'DOCKER_NETWORK',
    hint: `Check that ${origin} is reachable from here (DNS, firewall, proxy) and that the SCIM base URL is right.`,
    transient: true,
    cause,
  });
}

const BAD_RESPONSE_HINT =
  'Check that the SCIM base URL points at Docker\'s SCIM API (…/v2/scim/2.0) and not at a login page or a proxy; if it does, Docker may have changed its API, so please report this.';

export function badResponseError(operation: string, status: number, why: string, hint = BAD_RESPONSE_HINT): DockerApiError {
  return new DockerApiError(`Docker SCIM ${operation} returned a response this tool cannot read (HTTP ${status}): ${why}`, {
    operation,
    status,
    code: 'DOCKER_BAD_RESPONSE',
    hint,
  });
}

/** A listing that went past the page cap set by `maxUsers` without ending. */
export function readLimitError(operation: string, status: number, f: { pages: number; records: number; maxUsers: number; pageSize: number }): DockerApiError {
  return new DockerApiError(
    `Docker SCIM ${operation}: the listing did not end within ${f.pages} pages (${f.records} records read), the cap for at most ${f.maxUsers} accounts at ${f.pageSize} per page; it was stopped rather than read without end`,
    {
      operation,
      status,
      code: 'DOCKER_READ_LIMIT',
      hint: `If the organization really holds more than ${f.maxUsers} accounts or teams, raise MAX_USERS (sync.maxUsers). Otherwise Docker, or a proxy in front of it, keeps answering with new pages: check that the SCIM base URL points at Docker directly, and report it.`,
    },
  );
}

export interface RedirectRefusal {
  operation: string;
  method: string;
  status: number;
  /** The Location's origin only: its path and query can carry a filter with a person's email. */
  to: string | null;
  /** The configured SCIM origin. */
  origin: string;
  /** Redirects seen for this attempt, the refused one included. */
  hops: number;
  /** An earlier attempt of this request got no usable answer, so the write may have happened anyway. */
  ambiguous: boolean;
}

/** A 3xx the client refused to follow (http.ts says which ones it follows). */
export function redirectError(r: RedirectRefusal): DockerApiError {
  const where = r.to === null ? 'with no usable Location' : `to ${r.to}`;
  let why: string;
  if (r.method !== 'GET') why = 'a write is never sent again to where a redirect points, so it was not done';
  else if (r.to !== null && r.to !== r.origin) why = `only ${r.origin}, the configured SCIM origin, is followed: the token and the read go nowhere else`;
  else if (r.to === null) why = 'there is nowhere to follow it to';
  else why = `it was redirected ${r.hops} times in a row`;
  // A redirected write is not an ambiguous failure: a 3xx means the server we sent it to did not
  // do it there, and nothing went anywhere else, so Docker holds what it held before. Unless an
  // earlier attempt of the same write got no answer (timeout, reset, 5xx): that one may have been
  // done, so the failure keeps an ambiguous code and the journal has the next run check.
  const code = r.ambiguous && r.method !== 'GET' ? 'DOCKER_BAD_RESPONSE' : 'DOCKER_REDIRECT';
  return new DockerApiError(`Docker SCIM ${r.operation} was answered with a redirect (HTTP ${r.status}) ${where}; not followed: ${why}`, {
    operation: r.operation,
    status: r.status,
    code,
    hint: 'Set DOCKER_SCIM_BASE_URL to the SCIM base URL exactly as Docker shows it (Docker Home → Identity & auth → SSO and SCIM → Setup SCIM), with https:// and the final host. A redirect usually means an http:// or outdated address, or a proxy in the way; this tool never follows one with a write or to another origin.',
  });
}

/** The error codes/messages of a fetch failure, outermost first (undici wraps the socket error in `cause`). */
function describeCause(err: unknown): string {
  const parts: string[] = [];
  for (const e of causeChain(err)) {
    const code = (e as { code?: unknown }).code;
    const message = (e as { message?: unknown }).message;
    if (typeof code === 'string') parts.push(code);
    else if (typeof message === 'string' && message !== 'fetch failed') parts.push(message);
  }
  return parts.join(' / ');
}
