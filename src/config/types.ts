/** The validated configuration, as the rest of the program sees it. */

export type OktaAuthConfig =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'privateKey'; readonly clientId: string; readonly privateKey: string; readonly keyId?: string; readonly scopes: readonly string[] };

export type OktaTeamGroupSource = 'assigned' | 'rule' | 'push';

/** OKTA_GROUP_RULE, parsed: a case-insensitive match on the group's name. */
export interface OktaGroupRule {
  readonly op: 'startsWith' | 'contains';
  readonly value: string;
}

export interface OktaConfig {
  readonly orgUrl: string;
  readonly appId: string;
  readonly auth: OktaAuthConfig;
  /** OKTA_TEAM_GROUPS: where the org:team groups that become teams are found. */
  readonly teamGroups: readonly OktaTeamGroupSource[];
  /** Set exactly when teamGroups includes 'rule'. */
  readonly groupRule: OktaGroupRule | null;
}

/** Where a docker* attribute is read from in Entra (see ENTRA_ROLE_SOURCE). */
export type AttributeSourceConfig =
  | { readonly kind: 'none' }
  | { readonly kind: 'appRole' }
  | { readonly kind: 'extension'; readonly property: string }
  | { readonly kind: 'extensionAttribute'; readonly index: number };

export interface EntraConfig {
  readonly tenantId: string;
  readonly clientId: string;
  readonly credential: { readonly kind: 'secret'; readonly secret: string } | { readonly kind: 'certificate'; readonly certificatePath: string };
  readonly appId: string;
  readonly cloud: 'public' | 'usgov' | 'usgov-dod' | 'china';
  readonly authorityHost: string;
  readonly graphBaseUrl: string;
  readonly graphScope: string;
  readonly attributes: { readonly dockerRole: AttributeSourceConfig; readonly dockerOrg: AttributeSourceConfig; readonly dockerTeam: AttributeSourceConfig };
  readonly userNameSource: 'userPrincipalName' | 'mail';
  readonly groupMembership: 'direct' | 'transitive';
  /** ENTRA_ROLE_CONFLICT: what several app roles on one user mean. */
  readonly roleConflict: 'hold' | 'highest';
  /** ENTRA_EMAIL_SOURCE: where Docker's emails value comes from. */
  readonly emailSource: 'mail' | 'userName';
}

export interface DockerConfig {
  readonly scimBaseUrl: string;
  readonly scimToken: string;
  readonly defaultOrg: string;
  readonly defaultTeam: string | null;
  readonly concurrency: number;
  readonly timeoutMs: number;
  readonly maxRetries: number;
  readonly teamChunkSize: number;
  readonly teamSync: 'auto' | 'on' | 'off';
  /** DOCKER_VERIFIED_DOMAINS, lower-cased; null: not checked. */
  readonly verifiedDomains: readonly string[] | null;
  /** DOCKER_ORGS, lower-cased; null: any org. */
  readonly orgs: readonly string[] | null;
}

export interface SyncConfig {
  readonly adoptExisting: boolean;
  readonly deactivate: boolean;
  readonly maxDeactivations: number;
  readonly maxDeactivationPercent: number;
  readonly idpTimeoutMs: number;
  readonly idpMaxRetries: number;
  /** MAX_USERS: a listing of users or groups that pages past this is a broken answer, not a tenant. */
  readonly maxUsers: number;
  /** FAIL_ON: findings of this severity or worse make `sync` exit 4. */
  readonly failOn: 'error' | 'warning' | 'never';
  /** FULL_SYNC_EVERY: the longest an incremental run may follow the change feed since the last full run; 0: never incremental. */
  readonly fullSyncEveryMs: number;
  /** VERIFY_EVERY: the longest an incremental run may go without listing all of Docker. */
  readonly verifyEveryMs: number;
  /** JIT_DETECT_RUNS: runs in a row setting the same field back before JIT is named. */
  readonly jitDetectRuns: number;
}

export interface DaemonConfig {
  readonly schedule: string;
  readonly timezone: string | null;
  readonly startDelayMaxMs: number;
  /** null: 3 × the schedule's longest gap, worked out by the daemon. */
  readonly staleAfterMs: number | null;
  readonly shutdownTimeoutMs: number;
  readonly httpPort: number;
  readonly httpHost: string;
}

export type NotifyEvent = 'failure' | 'hold' | 'stale' | 'recovery' | 'changes';

export interface NotifyConfig {
  readonly webhookUrl: string | null;
  readonly on: readonly NotifyEvent[];
}

export interface StateConfig {
  readonly db: string;
  readonly retainRuns: number;
  readonly retainDays: number;
}

export interface Config {
  readonly source: 'okta' | 'entra';
  readonly okta: OktaConfig | null;
  readonly entra: EntraConfig | null;
  readonly docker: DockerConfig;
  readonly sync: SyncConfig;
  readonly daemon: DaemonConfig;
  readonly notify: NotifyConfig;
  readonly state: StateConfig;
  readonly log: { readonly level: string; readonly format: 'auto' | 'json' | 'pretty' };
  /** Every secret value in this configuration, for scrubbing logs, reports and errors. */
  readonly secrets: readonly string[];
  /** Environment variables that look like a misspelt key (did you mean …?), to log at start. */
  readonly warnings?: readonly string[];
  /** Where each key's value came from, for `validate-config`. */
  readonly origins: Readonly<Record<string, 'env' | 'env-file' | 'file' | 'file-secret' | 'default'>>;
}

/**
 * What `status` and `report` load: they only read the state file, so they need neither the IdP
 * nor Docker settings. The secrets that are set are still listed, to scrub output of them.
 */
export type StateOnlyConfig = Pick<Config, 'state' | 'log' | 'secrets' | 'origins' | 'warnings'>;
