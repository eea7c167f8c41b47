import { Client } from '@okta/okta-sdk-nodejs';
import type { BackoffPolicy } from '../../transport/wait-time.ts';
import type { Logger } from '../../logging/logger.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { OktaMalformedError } from './errors.ts';
import { OktaRequestExecutor } from './executor.ts';

/**
 * Builds the Okta SDK client the reader uses, with the settings the reference says are not
 * optional (okta.md §0, §6), and exposes only the listings and single reads the reader and the
 * change feed need, behind a page-by-page interface, so no SDK type leaves this folder.
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
 * Page sizes asked for: the app-users maximum, the app-groups maximum, Okta's recommended size
 * for group members and group searches (no documented max; okta.md §1, SDK 8.1.0 `listGroups`:
 * "we recommend using a limit less than or equal to 200"), and 100 Group Push mappings (no
 * documented max). The reader derives its page caps from them.
 */
export const PAGE_SIZE = { appUsers: 500, appGroups: 200, groupUsers: 200, groups: 200, pushMappings: 100, users: 200 } as const;

/** System Log events a page: the most `/api/v1/logs` serves (okta.md §1). */
export const LOG_PAGE_SIZE = 1000;

/** Where a System Log poll starts: a time, with the filter; or a `next` link kept from an earlier poll. */
export type LogStart = { readonly since: string; readonly filter: string } | { readonly next: string };

export interface OktaLists {
  /** `GET /api/v1/apps/{appId}/users?limit=500&expand=user`. */
  appUsers(appId: string): Promise<Pager>;
  /** `GET /api/v1/apps/{appId}/groups?limit=200&expand=group`. */
  appGroups(appId: string): Promise<Pager>;
  /** `GET /api/v1/groups/{groupId}/users?limit=200` (Okta's recommended page size; no documented max). */
  groupUsers(groupId: string): Promise<Pager>;
  /** `GET /api/v1/users/{userId}/groups`: every group the user is a direct member of. */
  userGroups(userId: string): Promise<Pager>;
  /**
   * `GET /api/v1/groups?search=…&limit=200`. Never `q=`: Okta does not page a `q` query and stops
   * it at 300 groups (SDK 8.1.0 `GroupApiListGroupsRequest.q`), so a tenant with more matching
   * groups would silently lose teams.
   */
  groups(search: string): Promise<Pager>;
  /**
   * `GET /api/v1/users?search=…&limit=200`: Okta users by a search expression (login, email), paged;
   * deactivated users included, as Okta's search returns them.
   */
  users(search: string): Promise<Pager>;
  /**
   * `GET /api/v1/apps/{appId}/group-push/mappings?limit=100`, optionally only those updated on or
   * after `lastUpdated` (`YYYY-MM-DDTHH:mm:ssZ`), and with a smaller page when one item is enough.
   */
  pushMappings(appId: string, opts?: { lastUpdated?: string; limit?: number }): Promise<Pager>;
  /**
   * `GET /api/v1/logs?since=…&filter=…&limit=1000` in polling mode (ascending, no `until`), or the
   * `next` link an earlier poll ended on, followed verbatim: Okta says never to build `after`
   * (okta.md §1.4). Through the SDK's own Collection, whose `nextUri` is public and settable
   * (okta.md §2), so a kept link resumes it with the same request settings as its first page.
   */
  logEvents(start: LogStart): Promise<Pager>;
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
  /**
   * One object by its path (e.g. `/api/v1/apps/{appId}/users/{userId}?expand=user`), as JSON. Not
   * through the SDK's typed methods: their models drop or convert values of the wrong type, and
   * a user read on its own must come out exactly as the same user in a listing's raw JSON.
   */
  getJson(path: string): Promise<unknown>;
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
    appUsers: async (appId) => asJson(await client.applicationApi.listApplicationUsers({ appId, limit: PAGE_SIZE.appUsers, expand: 'user' })),
    appGroups: async (appId) => asJson(await client.applicationApi.listApplicationGroupAssignments({ appId, limit: PAGE_SIZE.appGroups, expand: 'group' })),
    groupUsers: async (groupId) => asJson(await client.groupApi.listGroupUsers({ groupId, limit: PAGE_SIZE.groupUsers })),
    userGroups: async (userId) => asJson(await client.userApi.listUserGroups({ userId })),
    groups: async (search) => asJson(await client.groupApi.listGroups({ search, limit: PAGE_SIZE.groups })),
    users: async (search) => asJson(await client.userApi.listUsers({ search, limit: PAGE_SIZE.users })),
    pushMappings: async (appId, o = {}) =>
      asJson(await client.groupPushMappingApi.listGroupPushMappings({ appId, limit: o.limit ?? PAGE_SIZE.pushMappings, ...(o.lastUpdated ? { lastUpdated: o.lastUpdated } : {}) })),
    logEvents: async (start) => {
      if ('next' in start) {
        // Built lazily: no request is made until the first page is asked for, at the kept link.
        const c = asJson(await client.systemLogApi.listLogEvents({ limit: LOG_PAGE_SIZE }));
        (c as { nextUri: string | undefined }).nextUri = start.next;
        return c;
      }
      return asJson(await client.systemLogApi.listLogEvents({ since: start.since, filter: start.filter, limit: LOG_PAGE_SIZE, sortOrder: 'ASCENDING' }));
    },
  };
  const base = normalizeOrgUrl(opts.orgUrl);
  const getJson = async (path: string): Promise<unknown> => {
    // Through the SDK's Http: its auth (SSWS, OAuth, DPoP), its error types, and our executor.
    // node-fetch's RequestInit (method, headers) is not in the SDK's typings without @types/node-fetch.
    const init = { method: 'get', headers: { Accept: 'application/json' } } as unknown as Parameters<Client['http']['http']>[1];
    const res = await client.http.http(`${base}${path}`, init);
    const text = await res.text();
    try {
      return JSON.parse(text) as unknown;
    } catch (err) {
      throw new OktaMalformedError('the answer is not valid JSON (cut off?)', err);
    }
  };
  return { lists, executor, getJson };
}

/** What the SDK's Collection hands its model factory: one answer, its status and its body. */
interface SdkResponse {
  readonly httpStatusCode: number;
  readonly headers: Record<string, string>;
  readonly body: { text(): Promise<string> };
}

interface SdkCollection extends Pager {
  factory: { parseResponse(response: SdkResponse): Promise<unknown> };
}

/**
 * The SDK's Collection still sends each page (through our executor: auth, origin checks, retries)
 * and follows `Link: rel="next"`; only what it makes of a good page changes. Its model factory
 * turns every item into SDK model objects (ObjectSerializer), which was the largest CPU cost of a
 * read at 100,000 users (~2.7 s a run) and held several times the memory of the JSON. The reader
 * only needs the JSON (transform.ts reads either shape), so a 2xx page that is a JSON array is
 * taken as parsed; every other answer goes to the SDK's own parser, which raises the same errors
 * it always did.
 */
function asJson(collection: unknown): Pager {
  const c = collection as SdkCollection;
  const sdk = c.factory;
  c.factory = {
    async parseResponse(response: SdkResponse): Promise<unknown> {
      const text = await response.body.text();
      const type = response.headers['content-type'] ?? '';
      if (response.httpStatusCode >= 200 && response.httpStatusCode < 300 && /\bjson\b/i.test(type)) {
        try {
          const parsed: unknown = JSON.parse(text);
          if (Array.isArray(parsed)) return parsed;
        } catch {
          // Not JSON after all: the SDK's parser says so in its own words.
        }
      }
      return sdk.parseResponse({ ...response, body: { text: async () => text } });
    },
  };
  return c;
}
