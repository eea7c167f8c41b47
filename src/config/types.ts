/** The validated configuration, as the rest of the program sees it. */

export type OktaAuthConfig =
  | { readonly kind: 'token'; readonly token: string }
  | { readonly kind: 'privateKey'; readonly clientId: string; readonly privateKey: string; readonly keyId?: string; readonly scopes: readonly string[] };

export interface OktaConfig {
  readonly orgUrl: string;
  readonly appId: string;
  readonly auth: OktaAuthConfig;
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
}

export interface Config {
  readonly source: 'okta' | 'entra';
  readonly okta: OktaConfig | null;
  readonly docker: DockerConfig;
  readonly sync: SyncConfig;
  readonly state: { readonly db: string };
  readonly log: { readonly level: string; readonly format: 'auto' | 'json' | 'pretty' };
  /** Every secret value in this configuration, for scrubbing logs, reports and errors. */
  readonly secrets: readonly string[];
  /** Where each key's value came from, for `validate-config`. */
  readonly origins: Readonly<Record<string, 'env' | 'env-file' | 'file' | 'file-secret' | 'default'>>;
}
