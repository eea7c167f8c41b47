/**
 * Every configuration key, once: its place in the YAML file, its environment variable, its type,
 * default and meaning. The loader, the example file's test and the generated reference all read
 * this table, so a key cannot exist in one and be missing from another.
 */

export type KeyType = 'string' | 'url' | 'int' | 'number' | 'boolean' | 'enum' | 'list' | 'secret' | 'path';

export interface ConfigKey {
  /** Dotted path in the YAML file, e.g. `okta.orgUrl`. */
  readonly path: string;
  /** Environment variable; secrets also accept `<ENV>_FILE` naming a file that holds the value. */
  readonly env: string;
  readonly type: KeyType;
  readonly description: string;
  readonly default?: string | number | boolean;
  readonly values?: readonly string[];
  readonly example?: string;
  /** Only read when SOURCE is this IdP. */
  readonly source?: 'okta' | 'entra';
  readonly min?: number;
  readonly max?: number;
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { path: 'source', env: 'SOURCE', type: 'enum', values: ['okta', 'entra'], description: 'Which identity provider to read.', example: 'okta' },

  { path: 'okta.orgUrl', env: 'OKTA_ORG_URL', type: 'url', source: 'okta', description: 'Your Okta org URL. https only (plain http is accepted for loopback emulators).', example: 'https://acme.okta.com' },
  { path: 'okta.appId', env: 'OKTA_APP_ID', type: 'string', source: 'okta', description: 'The id of the Docker app in Okta (Applications → Docker → the id in the address bar, 0oa…).', example: '0oa1abcd2EFGH3ijk4x7' },
  { path: 'okta.apiToken', env: 'OKTA_API_TOKEN', type: 'secret', source: 'okta', description: 'An Okta API token (SSWS) of a read-only admin. Use this or the OAuth service app keys below.', example: '00aBcD…' },
  { path: 'okta.clientId', env: 'OKTA_CLIENT_ID', type: 'string', source: 'okta', description: 'OAuth service app client id, for private_key_jwt instead of an API token.', example: '0oa5serviceapp' },
  { path: 'okta.privateKey', env: 'OKTA_PRIVATE_KEY', type: 'secret', source: 'okta', description: 'The service app private key, PEM or JWK JSON. Prefer OKTA_PRIVATE_KEY_FILE.', example: '-----BEGIN PRIVATE KEY-----…' },
  { path: 'okta.keyId', env: 'OKTA_KEY_ID', type: 'string', source: 'okta', description: "The key id (kid) registered for the service app's public key. Not needed when the JWK carries a kid.", example: 'docker-sync-2026' },
  { path: 'okta.scopes', env: 'OKTA_SCOPES', type: 'list', source: 'okta', default: 'okta.apps.read okta.groups.read okta.users.read', description: 'OAuth scopes to request (space or comma separated). The service app also needs a read-only admin role.' },

  { path: 'docker.scimBaseUrl', env: 'DOCKER_SCIM_BASE_URL', type: 'url', description: 'The SCIM Base URL shown in Docker Admin Console → SSO and SCIM → Setup SCIM.', example: 'https://hub.docker.com/v2/scim/2.0' },
  { path: 'docker.scimToken', env: 'DOCKER_SCIM_TOKEN', type: 'secret', description: 'The SCIM API token shown beside the base URL.', example: 'dckr_scim_…' },
  { path: 'docker.defaultOrg', env: 'DOCKER_DEFAULT_ORG', type: 'string', description: "The SSO connection's default organization: users without dockerOrg go here.", example: 'acme' },
  { path: 'docker.defaultTeam', env: 'DOCKER_DEFAULT_TEAM', type: 'string', description: "The SSO connection's default team: users with neither dockerOrg nor dockerTeam join it. Leave unset if the connection has none.", example: 'everyone' },
  { path: 'docker.concurrency', env: 'DOCKER_CONCURRENCY', type: 'int', default: 4, min: 1, max: 32, description: 'Most requests in flight to Docker at once.' },
  { path: 'docker.timeoutSeconds', env: 'DOCKER_TIMEOUT_SECONDS', type: 'number', default: 30, min: 1, max: 600, description: 'Timeout of one request to Docker.' },
  { path: 'docker.maxRetries', env: 'DOCKER_MAX_RETRIES', type: 'int', default: 5, min: 0, max: 20, description: 'Retries of one request after 429, 5xx, timeouts and resets.' },
  { path: 'docker.teamChunkSize', env: 'DOCKER_TEAM_CHUNK_SIZE', type: 'int', default: 100, min: 1, max: 1000, description: 'Team members added or removed per request.' },

  { path: 'sync.adoptExisting', env: 'ADOPT_EXISTING', type: 'boolean', default: true, description: 'Link existing Docker accounts whose userName matches an assigned IdP user (listed in the plan as adopt operations). false lists them as adoptable and leaves them alone.' },
  { path: 'sync.deactivate', env: 'DEACTIVATE', type: 'boolean', default: true, description: 'Apply deactivations. false plans and reports them but never applies them (an upsert-only rollout mode).' },
  { path: 'sync.maxDeactivations', env: 'MAX_DEACTIVATIONS', type: 'int', default: 25, min: 0, description: 'A run that would deactivate more users than this applies nothing destructive (override once with --force).' },
  { path: 'sync.maxDeactivationPercent', env: 'MAX_DEACTIVATION_PERCENT', type: 'number', default: 10, min: 0, max: 100, description: 'Likewise, as a percentage of the users this tool manages.' },
  { path: 'sync.idpTimeoutSeconds', env: 'IDP_TIMEOUT_SECONDS', type: 'number', default: 30, min: 1, max: 600, description: 'Timeout of one request to the identity provider.' },
  { path: 'sync.idpMaxRetries', env: 'IDP_MAX_RETRIES', type: 'int', default: 4, min: 0, max: 20, description: 'Retries of one IdP request after 429, 5xx, timeouts and resets. A read that still fails aborts the run before planning.' },

  { path: 'state.db', env: 'STATE_DB', type: 'path', default: './data/state.db', description: 'The SQLite state file (links, run history, journal). Keep it on a persistent volume.' },
  { path: 'log.level', env: 'LOG_LEVEL', type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level.' },
  { path: 'log.format', env: 'LOG_FORMAT', type: 'enum', values: ['auto', 'json', 'pretty'], default: 'auto', description: 'json for log collectors, pretty for people; auto picks pretty on a terminal.' },
];

export function keyByPath(path: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((k) => k.path === path);
}
