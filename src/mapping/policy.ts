import type { ConnectionScope } from '../model/desired.ts';
import type { RuleDefaults } from './rules.ts';

/**
 * What the mapping is told besides Docker's rules: the defaults, what Docker's SSO connection covers
 * (verified domains, organizations) and how the IdP's quirks are read. Every addition to the
 * defaults is optional and unset means "as before", so a caller that knows only the defaults still
 * maps as it always did. Pure data.
 */
export interface MappingPolicy extends RuleDefaults {
  /**
   * DOCKER_VERIFIED_DOMAINS, lower-cased: `acme.com` is that domain exactly, `*.acme.com` its
   * subdomains only. SCIM manages only "members whose email domain is verified on the SSO
   * connection" (docker-docs-2026.md §1.1): an active user of another domain is held.
   */
  readonly verifiedDomains?: readonly string[] | null;
  /** DOCKER_ORGS, lower-cased: the organizations this connection covers. */
  readonly orgs?: readonly string[] | null;
  /** A user with several roles (Entra app roles): held, or given the highest. Okta always holds. */
  readonly roleConflict?: 'hold' | 'highest';
  /** Where Docker's `emails` comes from: the IdP's own address for it (IdpUser.email), or the userName. */
  readonly emailSource?: 'mail' | 'userName';
}

/** The connection's scope as the planner needs it, or undefined when nothing is limited. */
export function connectionOf(policy: MappingPolicy): ConnectionScope | undefined {
  const verifiedDomains = policy.verifiedDomains ?? null;
  const orgs = policy.orgs ?? null;
  return verifiedDomains === null && orgs === null ? undefined : { verifiedDomains, orgs };
}

/**
 * Whether an address's domain is verified. Exact, case-insensitive matches only: `acme.com` does
 * not cover `notacme.com` (an ends-with test would) nor `eu.acme.com`; `*.acme.com` covers
 * `eu.acme.com` and deeper, never `acme.com` itself, exactly as the admin wrote it. null: not checked.
 */
export function isVerifiedDomain(address: string, domains: readonly string[] | null | undefined): boolean {
  if (!domains) return true;
  const at = address.lastIndexOf('@');
  if (at < 0) return false;
  const domain = address.slice(at + 1).toLowerCase();
  for (const d of domains) {
    if (d.startsWith('*.')) {
      const parent = d.slice(1); // ".acme.com"
      if (domain.length > parent.length && domain.endsWith(parent)) return true;
    } else if (domain === d) return true;
  }
  return false;
}

/** Whether this connection covers an organization (a lower-cased name). null: any. */
export function isOrgInScope(org: string, orgs: readonly string[] | null | undefined): boolean {
  return !orgs || orgs.includes(org.toLowerCase());
}

/** The organization of an `org:team` key. */
export function orgOfTeam(key: string): string {
  const colon = key.indexOf(':');
  return (colon < 0 ? key : key.slice(0, colon)).toLowerCase();
}
