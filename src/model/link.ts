import type { UserAttributes } from './docker.ts';

/** How a Docker account came under this tool's management. */
export type LinkOrigin = 'created' | 'adopted';

/**
 * The state store's record that an IdP user and a Docker account are the same person. Only linked
 * accounts are ever changed or deactivated.
 */
export interface Link {
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
  readonly origin: LinkOrigin;
  /** What this tool last wrote, to tell an IdP change from drift made behind its back. */
  readonly applied: AppliedState;
}

export interface AppliedState extends UserAttributes {
  readonly teams: readonly string[];
}
