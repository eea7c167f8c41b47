/**
 * Every configuration key, once: its place in the YAML file, its environment variable, its type,
 * default and meaning. The loader, the example file's test and the generated reference all read
 * this table, so a key cannot exist in one and be missing from another.
 */

export type KeyType = 'string' | 'url' | 'int' | 'number' | 'boolean' | 'enum' | 'list' | 'secret' | 'path' | 'guid' | 'tenant' | 'attribute-source' | 'duration' | 'cron';

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
  /** A URL that must be an origin (scheme, host, port) with no path. */
  readonly originOnly?: boolean;
  /**
   * A secret that spans lines by nature (a PEM key). Every other secret must be one line: it
   * becomes a header value or a form field, where a line break would split or smuggle a request.
   */
  readonly multiline?: boolean;
  /** A secret that is a URL (a webhook's carries its token): checked like a URL, query allowed. */
  readonly secretUrl?: boolean;
  /** For a `list`: the values it may hold. */
  readonly listValues?: readonly string[];
  /** For a `list` of free values: what each item must look like, and the message when one does not. */
  readonly itemPattern?: { readonly regex: RegExp; readonly message: string };
}

export const CONFIG_KEYS: readonly ConfigKey[] = [
  { path: 'source', env: 'SOURCE', type: 'enum', values: ['okta', 'entra'], description: 'Which identity provider to read: okta or entra (Microsoft Entra ID).', example: 'okta' },

  { path: 'okta.orgUrl', env: 'OKTA_ORG_URL', type: 'url', originOnly: true, source: 'okta', description: 'Your Okta org URL. https only (plain http is accepted for loopback emulators).', example: 'https://acme.okta.com' },
  { path: 'okta.appId', env: 'OKTA_APP_ID', type: 'string', source: 'okta', description: 'The id of the Docker app in Okta (Applications → Docker → the id in the address bar, 0oa…).', example: '0oa1abcd2EFGH3ijk4x7' },
  { path: 'okta.apiToken', env: 'OKTA_API_TOKEN', type: 'secret', source: 'okta', description: 'An Okta API token (SSWS) of a read-only admin. Use this or the OAuth service app keys below.', example: '00aBcD…' },
  { path: 'okta.clientId', env: 'OKTA_CLIENT_ID', type: 'string', source: 'okta', description: 'OAuth service app client id, for private_key_jwt instead of an API token.', example: '0oa5serviceapp' },
  { path: 'okta.privateKey', env: 'OKTA_PRIVATE_KEY', type: 'secret', multiline: true, source: 'okta', description: 'The service app private key, PEM or JWK JSON. Prefer OKTA_PRIVATE_KEY_FILE.', example: '-----BEGIN PRIVATE KEY-----…' },
  { path: 'okta.keyId', env: 'OKTA_KEY_ID', type: 'string', source: 'okta', description: "The key id (kid) registered for the service app's public key. Not needed when the JWK carries a kid.", example: 'docker-sync-2026' },
  { path: 'okta.teamGroups', env: 'OKTA_TEAM_GROUPS', type: 'list', listValues: ['assigned', 'rule', 'push'], source: 'okta', default: 'assigned', description: "Which Okta groups named org:team become Docker teams: assigned (groups assigned to the Docker app), rule (groups whose name matches OKTA_GROUP_RULE, as Docker's Okta guide selects them for Group Push), push (the app's Group Push mappings). Several may be listed. Only the app assignment decides who is provisioned; members of these groups who are not assigned are reported, once per group, and left out." },
  { path: 'okta.groupRule', env: 'OKTA_GROUP_RULE', type: 'string', source: 'okta', description: "With OKTA_TEAM_GROUPS=rule: the name rule, as in Okta's Push Groups rule: startsWith:<text> or contains:<text>, case-insensitive.", example: 'startsWith:acme:' },
  { path: 'okta.scopes', env: 'OKTA_SCOPES', type: 'list', source: 'okta', default: 'okta.apps.read okta.groups.read okta.users.read', description: 'OAuth scopes to request (space or comma separated). The service app also needs a read-only admin role. Incremental runs (the daemon, `sync --incremental`) read the System Log: add okta.logs.read here and grant it, or runs stay full and say so (FEED_UNAVAILABLE).' },

  { path: 'entra.tenantId', env: 'ENTRA_TENANT_ID', type: 'tenant', source: 'entra', description: 'The Entra tenant: its id (a GUID) or a verified domain.', example: 'contoso.onmicrosoft.com' },
  { path: 'entra.clientId', env: 'ENTRA_CLIENT_ID', type: 'guid', source: 'entra', description: "The application (client) id of the app registration docker-idp-sync signs in as (not the Docker app).", example: '11111111-2222-3333-4444-555555555555' },
  { path: 'entra.clientSecret', env: 'ENTRA_CLIENT_SECRET', type: 'secret', source: 'entra', description: 'A client secret of that app registration. Use this or a certificate.', example: 'AbC8Q~…' },
  { path: 'entra.clientCertificateFile', env: 'ENTRA_CLIENT_CERTIFICATE_FILE', type: 'path', source: 'entra', description: 'A PEM file holding the private key and the certificate registered on the app (preferred over a secret).', example: '/run/secrets/entra-cert.pem' },
  { path: 'entra.appId', env: 'ENTRA_APP_ID', type: 'guid', source: 'entra', description: "The Docker enterprise application's application (client) id, whose assignments say who gets Docker.", example: '66666666-7777-8888-9999-000000000000' },
  { path: 'entra.cloud', env: 'ENTRA_CLOUD', type: 'enum', source: 'entra', values: ['public', 'usgov', 'usgov-dod', 'china'], default: 'public', description: 'The Microsoft cloud: sets the sign-in authority, the Graph endpoint and the token scope together.' },
  { path: 'entra.authorityHost', env: 'ENTRA_AUTHORITY_HOST', type: 'url', originOnly: true, source: 'entra', description: 'Overrides the sign-in authority of ENTRA_CLOUD (e.g. https://login.microsoftonline.us). Normally unset.', example: 'https://login.microsoftonline.com' },
  { path: 'entra.graphBaseUrl', env: 'GRAPH_BASE_URL', type: 'url', originOnly: true, source: 'entra', description: 'Overrides the Microsoft Graph endpoint of ENTRA_CLOUD. Normally unset.', example: 'https://graph.microsoft.com' },
  { path: 'entra.roleSource', env: 'ENTRA_ROLE_SOURCE', type: 'attribute-source', source: 'entra', default: 'appRole', description: "Where dockerRole comes from: appRole (the value of the user's app role assignment, as in Docker's Entra setup), extensionAttribute1..15, extension:<name> (a directory extension), or none." },
  { path: 'entra.orgSource', env: 'ENTRA_ORG_SOURCE', type: 'attribute-source', source: 'entra', default: 'none', description: 'Where dockerOrg comes from. Docker\'s setup maps it from an extensionAttributeN you choose (e.g. extensionAttribute2); none means every user goes to DOCKER_DEFAULT_ORG.' },
  { path: 'entra.teamSource', env: 'ENTRA_TEAM_SOURCE', type: 'attribute-source', source: 'entra', default: 'none', description: 'Where dockerTeam comes from, likewise (e.g. extensionAttribute3, or extension:dockerTeam for a multi-valued directory extension). org:team groups assigned to the app add teams whatever this says.' },
  { path: 'entra.extensionAppId', env: 'ENTRA_EXTENSION_APP_ID', type: 'guid', source: 'entra', description: 'The app that owns the directory extensions named with extension:<name> (their names embed its appId). Defaults to ENTRA_APP_ID.', example: '66666666-7777-8888-9999-000000000000' },
  { path: 'entra.userNameSource', env: 'ENTRA_USERNAME_SOURCE', type: 'enum', source: 'entra', values: ['userPrincipalName', 'mail'], default: 'userPrincipalName', description: "Which Entra property becomes Docker's userName (an email). Docker's Entra setup maps userPrincipalName." },
  { path: 'entra.roleConflict', env: 'ENTRA_ROLE_CONFLICT', type: 'enum', source: 'entra', values: ['hold', 'highest'], default: 'hold', description: 'A user with several Docker app roles (directly and through groups): hold leaves the user as they are, with a finding, until one role remains; highest takes the highest (owner, then editor, then member). An unknown role holds the user either way.' },
  { path: 'entra.emailSource', env: 'ENTRA_EMAIL_SOURCE', type: 'enum', source: 'entra', values: ['mail', 'userName'], default: 'mail', description: "What Docker's emails value is: mail (the user's mail when it is set and a valid address, as Docker's Entra mapping sends it; otherwise the userName) or userName." },
  { path: 'entra.groupMembership', env: 'ENTRA_GROUP_MEMBERSHIP', type: 'enum', source: 'entra', values: ['direct', 'transitive'], default: 'direct', description: "Who a group assignment covers: direct members (Entra's own semantics) or also members of nested groups." },

  { path: 'docker.scimBaseUrl', env: 'DOCKER_SCIM_BASE_URL', type: 'url', description: 'The SCIM Base URL shown in Docker Admin Console → SSO and SCIM → Setup SCIM.', example: 'https://hub.docker.com/v2/scim/2.0' },
  { path: 'docker.scimToken', env: 'DOCKER_SCIM_TOKEN', type: 'secret', description: 'The SCIM API token shown beside the base URL.', example: 'dckr_scim_…' },
  { path: 'docker.defaultOrg', env: 'DOCKER_DEFAULT_ORG', type: 'string', description: "The SSO connection's default organization: users without dockerOrg go here.", example: 'acme' },
  { path: 'docker.defaultTeam', env: 'DOCKER_DEFAULT_TEAM', type: 'string', description: "The SSO connection's default team: users with neither dockerOrg nor dockerTeam join it. Leave unset if the connection has none.", example: 'everyone' },
  { path: 'docker.verifiedDomains', env: 'DOCKER_VERIFIED_DOMAINS', type: 'list', itemPattern: { regex: /^(\*\.)?([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/i, message: 'must list domains such as example.com or *.example.com' }, description: "The email domains verified on Docker's SSO connection. SCIM manages only users of these domains: an active assigned user of another domain is held with a finding before any write. *.example.com covers subdomains only. Unset: not checked.", example: 'acme.com,*.acme.com' },
  { path: 'docker.orgs', env: 'DOCKER_ORGS', type: 'list', description: 'The Docker organizations this SSO connection covers. A user whose dockerOrg is another one is held with a finding, and an org:team group of another org is not a team here. Must include DOCKER_DEFAULT_ORG. Unset: any org.', example: 'acme,acme-labs' },
  { path: 'docker.concurrency', env: 'DOCKER_CONCURRENCY', type: 'int', default: 4, min: 1, max: 32, description: 'Most requests in flight to Docker at once.' },
  { path: 'docker.timeoutSeconds', env: 'DOCKER_TIMEOUT_SECONDS', type: 'number', default: 30, min: 1, max: 600, description: 'Timeout of one request to Docker.' },
  { path: 'docker.maxRetries', env: 'DOCKER_MAX_RETRIES', type: 'int', default: 5, min: 0, max: 20, description: 'Retries of one request after 429, 5xx, timeouts and resets.' },
  { path: 'docker.teamSync', env: 'DOCKER_TEAM_SYNC', type: 'enum', values: ['auto', 'on', 'off'], default: 'auto', description: "Team sync through SCIM /Groups. auto: sync teams unless Docker's connection shows it has none (GET /Groups answers 404, or its ServiceProviderConfig says PATCH is unsupported and its ResourceTypes list no Group); users sync either way. on: use /Groups even when the discovery says PATCH is unsupported. off: never read or change teams." },
  { path: 'docker.teamChunkSize', env: 'DOCKER_TEAM_CHUNK_SIZE', type: 'int', default: 100, min: 1, max: 1000, description: 'Team members added or removed per request.' },

  { path: 'sync.adoptExisting', env: 'ADOPT_EXISTING', type: 'boolean', default: true, description: 'Link existing Docker accounts whose userName matches an assigned IdP user (listed in the plan as adopt operations). false lists them as adoptable and leaves them alone.' },
  { path: 'sync.deactivate', env: 'DEACTIVATE', type: 'boolean', default: true, description: 'Apply deactivations. false plans and reports them but never applies them (an upsert-only rollout mode).' },
  { path: 'sync.maxDeactivations', env: 'MAX_DEACTIVATIONS', type: 'int', default: 25, min: 0, description: 'A run that would deactivate more users than this applies nothing destructive (override once with --force).' },
  { path: 'sync.maxDeactivationPercent', env: 'MAX_DEACTIVATION_PERCENT', type: 'number', default: 10, min: 0, max: 100, description: 'Likewise, as a percentage of the users this tool manages.' },
  { path: 'sync.idpTimeoutSeconds', env: 'IDP_TIMEOUT_SECONDS', type: 'number', default: 30, min: 1, max: 600, description: 'Timeout of one request to the identity provider.' },
  { path: 'sync.idpMaxRetries', env: 'IDP_MAX_RETRIES', type: 'int', default: 4, min: 0, max: 20, description: 'Retries of one IdP request after 429, 5xx, timeouts and resets. A read that still fails aborts the run before planning.' },
  { path: 'sync.maxUsers', env: 'MAX_USERS', type: 'int', default: 1000000, min: 1, description: 'The most users (and groups) a read of the IdP or Docker may return. A listing that pages past it is treated as a broken answer and stops the run, so a hostile or broken server cannot make a read loop forever; raise it for a bigger tenant.' },

  { path: 'sync.fullSyncEvery', env: 'FULL_SYNC_EVERY', type: 'duration', default: '24h', description: 'Incremental runs (`daemon`, `sync --incremental`) read only what the IdP\'s change feed names (Okta System Log, Graph delta queries); a full run, which reads everything on both sides and is the source of truth, still runs at least this often. 0 makes every run full.' },
  { path: 'sync.verifyEvery', env: 'VERIFY_EVERY', type: 'duration', default: '6h', description: 'An incremental run lists all of Docker at least this often, to find accounts changed behind this tool\'s back (drift) and put them right with the rest of its changes. 0 lists Docker on every incremental run.' },
  { path: 'sync.jitDetectRuns', env: 'JIT_DETECT_RUNS', type: 'int', default: 3, min: 2, max: 50, description: 'When the same field of the same Docker account has been set back this many runs in a row, the report names JIT provisioning as the likely cause once per field (JIT_SUSPECTED) instead of a DRIFT line per account every run.' },
  { path: 'sync.failOn', env: 'FAIL_ON', type: 'enum', values: ['error', 'warning', 'never'], default: 'error', description: 'Findings of this severity or worse make `sync` exit 4 (after applying everything else), so cron, a CronJob or CI notices users held for bad IdP data. never: findings never change the exit code.' },

  { path: 'daemon.schedule', env: 'SCHEDULE', type: 'cron', default: '*/15 * * * *', description: '`daemon`: when to sync, in cron syntax (five fields, or six with seconds first). One sync also runs at start.' },
  { path: 'daemon.timezone', env: 'SCHEDULE_TIMEZONE', type: 'string', description: '`daemon`: the IANA time zone SCHEDULE is read in (default: the process time zone, UTC in the image).', example: 'Europe/Berlin' },
  { path: 'daemon.startDelayMax', env: 'START_DELAY_MAX', type: 'duration', default: '0s', description: '`daemon`: wait a random time up to this before the first sync, so many instances restarted together do not hit the IdP at once (e.g. 2m).' },
  { path: 'daemon.staleAfter', env: 'STALE_AFTER', type: 'duration', description: '`daemon`: with no successful sync for this long, /readyz fails and the stale alert is sent. Default: 3 × the longest gap of SCHEDULE.', example: '45m' },
  { path: 'daemon.shutdownTimeout', env: 'SHUTDOWN_TIMEOUT', type: 'duration', default: '10s', min: 1, description: '`daemon`: on SIGTERM, how long to wait for writes in flight to finish and be journaled before exiting. Keep it below the orchestrator\'s grace period (Kubernetes: 30 s).' },
  { path: 'daemon.httpPort', env: 'HTTP_PORT', type: 'int', default: 8080, min: 0, max: 65535, description: '`daemon`: port of /healthz, /readyz and /metrics (0: any free port).' },
  { path: 'daemon.httpHost', env: 'HTTP_HOST', type: 'string', default: '127.0.0.1', description: '`daemon`: address the HTTP server listens on. Loopback by default; the container image sets 0.0.0.0 so probes and Prometheus can reach it.' },

  { path: 'notify.webhookUrl', env: 'NOTIFY_WEBHOOK_URL', type: 'secret', secretUrl: true, description: '`daemon`: a webhook (Slack incoming webhook, Teams workflow, or anything that takes JSON) that gets a message when a run fails, the safety guard holds deactivations, syncing goes stale, and when it recovers. A secret: its URL carries a token.', example: 'https://hooks.slack.com/services/T000/B000/XXXX' },
  { path: 'notify.on', env: 'NOTIFY_ON', type: 'list', listValues: ['failure', 'hold', 'stale', 'recovery', 'changes'], default: 'failure,hold,stale,recovery', description: 'Which events are sent to NOTIFY_WEBHOOK_URL: failure, hold, stale, recovery, and changes (a run that applied something).' },

  { path: 'state.db', env: 'STATE_DB', type: 'path', default: './data/state.db', description: 'The SQLite state file (links, run history, journal). Keep it on a persistent volume.' },
  { path: 'state.retainRuns', env: 'RETAIN_RUNS', type: 'int', default: 1000, min: 1, description: 'Runs kept in the state file with their reports and journal: the last RETAIN_RUNS, and any younger than RETAIN_DAYS, whichever keeps more. Links and the last successful run are always kept.' },
  { path: 'state.retainDays', env: 'RETAIN_DAYS', type: 'int', default: 90, min: 1, description: 'Runs younger than this many days are kept (see RETAIN_RUNS).' },
  { path: 'log.level', env: 'LOG_LEVEL', type: 'enum', values: ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'], default: 'info', description: 'Log level.' },
  { path: 'log.format', env: 'LOG_FORMAT', type: 'enum', values: ['auto', 'json', 'pretty'], default: 'auto', description: 'json for log collectors, pretty for people; auto picks pretty on a terminal.' },
];

export function keyByPath(path: string): ConfigKey | undefined {
  return CONFIG_KEYS.find((k) => k.path === path);
}
