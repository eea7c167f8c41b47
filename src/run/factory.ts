import type { Config } from '../config/types.ts';
import { DockerScimClient } from '../docker/client.ts';
import type { Logger } from '../logging/logger.ts';
import type { ChangeFeed, Source } from '../model/idp.ts';
import type { TransportObserver } from '../model/telemetry.ts';

/** Builds the adapters a run needs from the validated configuration. */

/** What a run hands its clients besides the configuration. */
export interface ClientIo {
  /** Sees every HTTP exchange, retry and wait, for metrics. */
  readonly observer?: TransportObserver;
  /** Shutdown: interrupts retry and rate-limit waits at once (requests in flight are answered). */
  readonly signal?: AbortSignal;
}

/** The ClientIo fields that are set, so options stay absent rather than `undefined`. */
function ioOptions(io: ClientIo): ClientIo {
  return { ...(io.observer ? { observer: io.observer } : {}), ...(io.signal ? { signal: io.signal } : {}) };
}

/**
 * The configured IdP. Its SDK is loaded when the first read starts, not when the CLI starts: the
 * Okta SDK alone costs 0.7 s of CPU to load, and a run reads one IdP, never both.
 */
export function createSource(config: Config, logger: Logger, io: ClientIo = {}): Source {
  if (!(config.source === 'okta' && config.okta) && !(config.source === 'entra' && config.entra)) throw new Error(`no configuration for source ${config.source}`);
  let loaded: Promise<Source> | null = null;
  const load = () => (loaded ??= loadSource(config, logger, io));
  // Both sources have a change feed (Okta's System Log, Graph delta queries); the SDKs behind it
  // load on first use, like the read's.
  const feed = async (): Promise<ChangeFeed> => {
    const source = await load();
    if (!source.feed) throw new Error(`the ${config.source} source has no change feed`);
    return source.feed;
  };
  return {
    kind: config.source,
    read: (signal?: AbortSignal) => load().then((source) => source.read(signal)),
    findUserIds: async (emails, signal) => (await load()).findUserIds(emails, signal),
    feed: {
      start: async (signal) => (await feed()).start(signal),
      changesSince: async (cursor, ctx, signal) => (await feed()).changesSince(cursor, ctx, signal),
      readUsers: async (ids, signal) => (await feed()).readUsers(ids, signal),
    },
  };
}

async function loadSource(config: Config, logger: Logger, io: ClientIo): Promise<Source> {
  if (config.source === 'okta' && config.okta) {
    const { createOktaSource } = await import('../sources/okta/index.ts');
    return createOktaSource({
      orgUrl: config.okta.orgUrl,
      appId: config.okta.appId,
      auth: config.okta.auth,
      teamGroups: config.okta.teamGroups,
      groupRule: config.okta.groupRule,
      logger: logger.child({ system: 'okta' }),
      timeoutMs: config.sync.idpTimeoutMs,
      maxRetries: config.sync.idpMaxRetries,
      maxUsers: config.sync.maxUsers,
      ...ioOptions(io),
    });
  }
  if (config.source === 'entra' && config.entra) {
    const e = config.entra;
    const { createEntraSource } = await import('../sources/entra/index.ts');
    return createEntraSource({
      tenantId: e.tenantId,
      clientId: e.clientId,
      credential: e.credential,
      appId: e.appId,
      authorityHost: e.authorityHost,
      graphBaseUrl: e.graphBaseUrl,
      graphScope: e.graphScope,
      attributes: e.attributes,
      userNameSource: e.userNameSource,
      groupMembership: e.groupMembership,
      logger: logger.child({ system: 'entra' }),
      timeoutMs: config.sync.idpTimeoutMs,
      maxRetries: config.sync.idpMaxRetries,
      maxUsers: config.sync.maxUsers,
      ...ioOptions(io),
    });
  }
  throw new Error(`no configuration for source ${config.source}`);
}

export function createDockerClient(config: Config, logger: Logger, io: ClientIo = {}): DockerScimClient {
  return new DockerScimClient({
    baseUrl: config.docker.scimBaseUrl,
    token: config.docker.scimToken,
    logger: logger.child({ system: 'docker' }),
    timeoutMs: config.docker.timeoutMs,
    maxRetries: config.docker.maxRetries,
    // Bounds requests in flight across reads, lookups and writes. The executor's bound on operations
    // (run/sync.ts) is not the same limit twice: it keeps operations not yet sent out of the journal.
    concurrency: config.docker.concurrency,
    membersPerPatch: config.docker.teamChunkSize,
    maxUsers: config.sync.maxUsers,
    ...ioOptions(io),
  });
}

/**
 * What identifies the IdP side of a state file. Links are keyed by IdP ids, so pointing a state
 * file at another tenant or app would make every linked user look unassigned.
 */
export function sourceIdentity(config: Config): string {
  if (config.source === 'okta' && config.okta) return `okta ${config.okta.orgUrl} app ${config.okta.appId}`;
  if (config.source === 'entra' && config.entra) return `entra tenant ${config.entra.tenantId} app ${config.entra.appId}`;
  return config.source;
}
