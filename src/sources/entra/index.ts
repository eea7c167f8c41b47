import { readFileSync } from 'node:fs';
import type { Logger } from '../../logging/logger.ts';
import { scrubber } from '../../logging/scrub.ts';
import { FeedExpiredError, SourceReadError } from '../../model/errors.ts';
import type { IdpSnapshot, Source } from '../../model/idp.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { connectGraph, type EntraCredential, type GraphConnection } from './client.ts';
import { EntraCertificateFileError, toSourceReadError, type ErrorContext } from './errors.ts';
import { createEntraFeed } from './feed.ts';
import { findEntraUsers } from './find-users.ts';
import { readEntra, type ReadDeps } from './read.ts';
import type { AttributeSource } from './transform.ts';

/**
 * The Microsoft Entra ID source: reads who is assigned to the Docker enterprise application, with
 * their docker* attributes and assigned groups, through Microsoft Graph into an IdpSnapshot;
 * complete, or a SourceReadError. Its change feed (feed.ts) follows Graph delta queries between
 * full reads.
 */

export type { AttributeSource } from './transform.ts';
export type { EntraCredential } from './client.ts';

export interface EntraSourceOptions {
  tenantId: string;
  clientId: string;
  credential: EntraCredential;
  /** The Docker enterprise application's appId. */
  appId: string;
  /** e.g. https://login.microsoftonline.com (or the emulator's origin). */
  authorityHost: string;
  /** e.g. https://graph.microsoft.com (origin, no version; or the emulator's origin). */
  graphBaseUrl: string;
  /** e.g. https://graph.microsoft.com/.default (sovereign clouds differ; the emulator accepts the public one). */
  graphScope: string;
  attributes: { dockerRole: AttributeSource; dockerOrg: AttributeSource; dockerTeam: AttributeSource };
  userNameSource: 'userPrincipalName' | 'mail';
  groupMembership: 'direct' | 'transitive';
  logger: Logger;
  /** Per request, including its body. Default 30 000. */
  timeoutMs?: number;
  /** Retries for 429, 5xx, timeouts, resets and throttled batch items. Default 4. */
  maxRetries?: number;
  /** Capped exponential backoff with full jitter, when Graph names no wait. Default 1 000 / 30 000 ms. */
  backoff?: { baseMs: number; capMs: number };
  /**
   * The most users the tenant is expected to assign to the Docker app. Each listing stops with an
   * error past ceil(maxUsers / 999) + 1 pages, so a Graph (or proxy) that never stops handing out
   * next-page links cannot hold a read forever. Default 1 000 000.
   */
  maxUsers?: number;
  /** Sees every HTTP exchange (token requests included), retry, rate-limit wait and listing page. */
  observer?: TransportObserver;
  /** Shutdown: aborts every read of this source, as an aborted `read(signal)` does. */
  signal?: AbortSignal;
}

/** Member listings, and batches, in flight at once: well inside Graph's per-app concurrency. */
const CONCURRENCY = 4;

export function createEntraSource(opts: EntraSourceOptions): Source {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxRetries = opts.maxRetries ?? 4;
  const backoff = opts.backoff ?? { baseMs: 1000, capMs: 30_000 };
  const maxUsers = opts.maxUsers ?? 1_000_000;
  const authorityHost = opts.authorityHost.trim().replace(/\/+$/, '');
  const graphBaseUrl = opts.graphBaseUrl.trim().replace(/\/+$/, '');
  const logger = opts.logger;
  // Invariant 8: whatever text from Entra or a library ends up in an error is scrubbed of these.
  // For a certificate, the file's contents (its key) join once the file has been read.
  let scrub = scrubber(opts.credential.kind === 'secret' ? [opts.credential.secret] : []);

  const context = (operation: string, subject: ErrorContext['subject']): ErrorContext => ({
    operation,
    subject,
    credentialKind: opts.credential.kind,
    tenantId: opts.tenantId,
    clientId: opts.clientId,
    appId: opts.appId,
    authorityHost,
    graphBaseUrl,
    timeoutMs,
    scrub,
  });
  const fail = (err: unknown, operation: string, subject: ErrorContext['subject']): SourceReadError => toSourceReadError(err, context(operation, subject));

  let connection: GraphConnection | null = null;
  // Reads run one at a time: the connection's per-read session (abort signal, request count) is shared.
  let queue: Promise<unknown> = Promise.resolve();

  function connect(): GraphConnection {
    for (const [name, url] of [
      ['ENTRA_AUTHORITY_HOST', authorityHost],
      ['GRAPH_BASE_URL', graphBaseUrl],
    ] as const) {
      let parsed: URL | null = null;
      try {
        parsed = new URL(url);
      } catch {
        parsed = null;
      }
      // Both libraries refuse plain http, the Graph client silently (gotchas 1–2): say so up front.
      if (parsed === null || parsed.protocol !== 'https:') {
        throw new SourceReadError(`entra: ${name} must be an https:// URL, not ${JSON.stringify(url)}`, {
          system: 'entra',
          operation: 'configure the Entra client',
          hint: `Set ${name} to an https URL (or unset it to use ENTRA_CLOUD's); the Azure credential and the Graph client do not work over plain http.`,
        });
      }
    }
    if (opts.credential.kind === 'certificate') {
      const pem = readCertificateFile(opts.credential.certificatePath, fail);
      scrub = scrubber([pem]);
    }
    try {
      return connectGraph({
        tenantId: opts.tenantId,
        clientId: opts.clientId,
        credential: opts.credential,
        authorityHost,
        graphBaseUrl,
        graphScope: opts.graphScope,
        logger,
        timeoutMs,
        maxRetries,
        backoff,
        ...(opts.observer ? { observer: opts.observer } : {}),
      });
    } catch (err) {
      // The credential validates its settings when built (tenant id characters, authority).
      throw new SourceReadError(`entra: the Entra client could not be set up: ${scrub(err instanceof Error ? err.message : String(err))}`, {
        system: 'entra',
        operation: 'configure the Entra client',
        hint: 'Check ENTRA_TENANT_ID (a GUID or a verified domain), ENTRA_CLIENT_ID, and ENTRA_CLOUD or ENTRA_AUTHORITY_HOST.',
      });
    }
  }

  /**
   * Runs `work` alone on the connection: reads, and the feed's calls, share one per-call session
   * (abort signal, request count), so they queue. Anything thrown becomes the SourceReadError the
   * admin sees, naming `operation`; a FeedExpiredError passes as it is (the caller reads everything).
   */
  function exclusive<T>(signal: AbortSignal | undefined, operation: string, work: (deps: ReadDeps, requests: () => number) => Promise<T>): Promise<T> {
    const run = queue.then(async () => {
      connection ??= connect();
      const conn = connection;
      const session = { signal: eitherSignal(opts.signal, signal), requests: 0 };
      conn.session = session;
      try {
        return await work(
          {
            api: conn.api,
            appId: opts.appId,
            attributes: opts.attributes,
            userNameSource: opts.userNameSource,
            groupMembership: opts.groupMembership,
            logger,
            signal: session.signal,
            maxRetries,
            backoff,
            fail,
            concurrency: CONCURRENCY,
            maxUsers,
            ...(opts.observer ? { observer: opts.observer } : {}),
          },
          () => session.requests,
        );
      } catch (err) {
        if (err instanceof FeedExpiredError) throw err;
        throw fail(err, operation, 'read');
      } finally {
        conn.session = { signal: undefined, requests: 0 };
      }
    });
    // then(), not catch(): catch passes the snapshot through, and the queue would keep 100,000
    // users reachable through the whole apply.
    queue = run.then(() => undefined, () => undefined);
    return run;
  }

  const feed = createEntraFeed({ exclusive });
  return {
    kind: 'entra',
    read(signal?: AbortSignal): Promise<IdpSnapshot> {
      return exclusive(signal, `read the Docker app ${opts.appId} from Entra`, (deps, requests) => readEntra(deps, requests, feed.takeStartListing()));
    },
    findUserIds(emails: readonly string[], signal?: AbortSignal): Promise<ReadonlyMap<string, readonly string[]>> {
      return exclusive(signal, 'find Entra users by email (GET /users?$filter=…)', (deps) => findEntraUsers(deps, emails, { pages: 0 }));
    },
    feed,
  };
}

/**
 * The PEM file `ClientCertificateCredential` will read: checked here, once, so a wrong path or a
 * file without its key gets a plain answer instead of a library error, and so its contents can be
 * scrubbed from anything a library says. Its text is never quoted.
 */
function readCertificateFile(path: string, fail: (err: unknown, op: string, subject: 'read') => SourceReadError): string {
  let pem: string;
  try {
    pem = readFileSync(path, 'utf8');
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    throw fail(new EntraCertificateFileError(`the client certificate file ${path} cannot be read${typeof code === 'string' ? ` (${code})` : ''}`), 'read the client certificate file', 'read');
  }
  const hasKey = /-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem);
  const hasCert = pem.includes('-----BEGIN CERTIFICATE-----');
  if (!hasKey || !hasCert) {
    throw fail(
      new EntraCertificateFileError(`the client certificate file ${path} holds ${hasKey ? 'a private key but no certificate' : hasCert ? 'a certificate but no private key' : 'neither a PEM private key nor a PEM certificate'}`),
      'read the client certificate file',
      'read',
    );
  }
  return pem;
}

/** The source's shutdown signal and the read's own, whichever aborts first. */
function eitherSignal(a: AbortSignal | undefined, b: AbortSignal | undefined): AbortSignal | undefined {
  return a && b ? AbortSignal.any([a, b]) : (a ?? b);
}
