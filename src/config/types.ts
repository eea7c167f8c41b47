/** The validated configuration, as the rest of the program sees it. */

export type OktaAuthConfig =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'privateKey'; readonly clientId: string; readonly privateKey: string; readonly keyId?: string; readonly scopes: readonly string[] };

export interface OktaConfig {
  readonly orgUrl: string;
  readonly appId: string;
  readonly auth: OktaAuthConfig;
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
}

export interface Config {
  readonly source: 'okta' | 'entra';
  readonly okta: OktaConfig | null;
  readonly entra: EntraConfig | null;
  readonly docker: DockerConfig;
  readonly sync: SyncConfig;
  readonly state: { readonly db: string };
  readonly log: { readonly level: string; readonly format: 'auto' | 'json' | 'pretty' };
  /** Every secret value in this configuration, for scrubbing logs, reports and errors. */
  readonly secrets: readonly string[];
  /** Where each key's value came from, for `validate-config`. */
  readonly origins: Readonly<Record<string, 'env' | 'env-file' | 'file' | 'file-secret' | 'default'>>;
}
