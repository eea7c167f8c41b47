/**
 * Errors that tell the admin what to do: which system, which request, the status, the remote
 * message and the likely fix. Never a bare "request failed".
 */
export type ExternalSystem = 'okta' | 'entra' | 'docker' | 'state';

export interface AppErrorInit {
  system: ExternalSystem;
  /** What was being done, e.g. "GET /api/v1/apps/{appId}/users (page 3)". */
  operation: string;
  status?: number;
  /** The remote message: SCIM `detail`, Okta `errorSummary`, Graph `error.message`. */
  remoteMessage?: string;
  /** A remote error code, e.g. E0000011, Authorization_RequestDenied, invalidValue. */
  remoteCode?: string;
  hint?: string;
  cause?: unknown;
  /** True when retrying later may succeed (5xx, 429, timeout, reset). */
  transient?: boolean;
}

export class AppError extends Error {
  readonly system: ExternalSystem;
  readonly operation: string;
  readonly status: number | undefined;
  readonly remoteMessage: string | undefined;
  readonly remoteCode: string | undefined;
  readonly hint: string | undefined;
  readonly transient: boolean;

  constructor(message: string, init: AppErrorInit) {
    super(message, init.cause === undefined ? undefined : { cause: init.cause });
    this.name = new.target.name;
    this.system = init.system;
    this.operation = init.operation;
    this.status = init.status;
    this.remoteMessage = init.remoteMessage;
    this.remoteCode = init.remoteCode;
    this.hint = init.hint;
    this.transient = init.transient ?? false;
  }

  /** One paragraph for a terminal: message, then the fix. */
  describe(): string {
    return this.hint ? `${this.message}\n  fix: ${this.hint}` : this.message;
  }
}

/** The IdP could not be read completely; the run stops before planning. */
export class SourceReadError extends AppError {}

/**
 * The IdP no longer knows the change-feed cursor the state file holds (a Graph delta token past its
 * 7 days, `410 Gone`, `syncStateNotFound`; an Okta System Log cursor it refuses). Not a failure:
 * the run reads everything instead, as a full run would, and keeps a fresh cursor.
 */
export class FeedExpiredError extends AppError {}
