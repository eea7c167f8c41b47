import { Client } from '@okta/okta-sdk-nodejs';
import type { BackoffPolicy } from '../../util/retry.ts';
import type { Logger } from '../../logging/logger.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { OktaRequestExecutor } from './executor.ts';

/**
 * Builds the Okta SDK client the reader uses, with the settings the reference says are not
 * optional (okta.md §0, §6), and exposes only the three listings the reader needs, behind a
 * page-by-page interface, so no SDK type leaves this folder.
 */

export type OktaAuth =
  | { kind: 'token'; token: string }
  | { kind: 'privateKey'; clientId: string; keyId?: string; privateKey: string; scopes?: readonly string[] };

/** What the reader asks of a private_key_jwt app: read apps (and their users and groups), groups and users. */
export const DEFAULT_SCOPES = ['okta.apps.read', 'okta.groups.read', 'okta.users.read'] as const;

/**
 * One listing, fetched a page at a time. The SDK's Collection has exactly this shape; the reader
 * pages by hand rather than with `for await`, which yields `null` on an empty page that still has
 * a `next` link (gotcha 2) and hides page boundaries the errors must name.
 */
export interface Pager {
  /** The next page's URL; undefined once the last page (one without a `next` link) was read. */
  readonly nextUri: string | undefined;
  /** Fetches the page at nextUri and advances; the array of items, as the SDK deserialized them. */
  getNextPage(): Promise<unknown>;
}

/**
 * Page sizes asked for: the app-users maximum, the app-groups maximum, and Okta's recommended size
 * for group members (no documented max; okta.md §1). The reader derives its page caps from them.
 */
export const PAGE_SIZE = { appUsers: 500, appGroups: 200, groupUsers: 200 } as const;

export interface OktaLists {
  /** `GET /api/v1/apps/{appId}/users?limit=500&expand=user`. */
  appUsers(appId: string): Promise<Pager>;
  /** `GET /api/v1/apps/{appId}/groups?limit=200&expand=group`. */
  appGroups(appId: string): Promise<Pager>;
  /** `GET /api/v1/groups/{groupId}/users?limit=200` (Okta's recommended page size; no documented max). */
  groupUsers(groupId: string): Promise<Pager>;
}

export interface ClientOptions {
  orgUrl: string;
  auth: OktaAuth;
  logger: Logger;
  timeoutMs: number;
  maxRetries: number;
  backoff: BackoffPolicy;
  observer?: TransportObserver;
}

/** Gotcha 6: a trailing slash makes the SDK request `//api/v1/...`. */
export function normalizeOrgUrl(orgUrl: string): string {
  return orgUrl.trim().replace(/\/+$/, '');
}

/** The SDK client itself. Exported for tests that check its settings; the reader uses `connectOkta`. */
export function createSdkClient(orgUrl: string, auth: OktaAuth, executor: OktaRequestExecutor): Client {
  const common = {
    orgUrl: normalizeOrgUrl(orgUrl),
    requestExecutor: executor,
    // Gotcha 1: the default cache keeps GET answers forever, so a second read would not see changes.
    cacheMiddleware: null,
  };
  // Every setting is passed explicitly: the SDK fills gaps from OKTA_CLIENT_* variables and okta.yaml
  // files (§5.1), which must not change what this tool does.
  if (auth.kind === 'token') {
    return new Client({ ...common, authorizationMode: 'SSWS', token: auth.token });
  }
  return new Client({
    ...common,
    authorizationMode: 'PrivateKey',
    clientId: auth.clientId,
    keyId: auth.keyId ?? '',
    scopes: [...(auth.scopes ?? DEFAULT_SCOPES)],
    privateKey: auth.privateKey,
  });
}

export interface OktaConnection {
  readonly lists: OktaLists;
  readonly executor: OktaRequestExecutor;
}

export function connectOkta(opts: ClientOptions): OktaConnection {
  const origin = new URL(normalizeOrgUrl(opts.orgUrl)).origin;
  const executor = new OktaRequestExecutor({
    origin,
    logger: opts.logger,
    timeoutMs: opts.timeoutMs,
    maxRetries: opts.maxRetries,
    backoff: opts.backoff,
    ...(opts.observer ? { observer: opts.observer } : {}),
  });
  const client = createSdkClient(opts.orgUrl, opts.auth, executor);
  const lists: OktaLists = {
    appUsers: (appId) => client.applicationApi.listApplicationUsers({ appId, limit: PAGE_SIZE.appUsers, expand: 'user' }),
    appGroups: (appId) => client.applicationApi.listApplicationGroupAssignments({ appId, limit: PAGE_SIZE.appGroups, expand: 'group' }),
    groupUsers: (groupId) => client.groupApi.listGroupUsers({ groupId, limit: PAGE_SIZE.groupUsers }),
  };
  return { lists, executor };
}
