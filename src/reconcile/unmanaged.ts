import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import { isVerifiedDomain } from '../mapping/policy.ts';

/**
 * Phase 5 of the planner: Docker accounts that no assigned IdP user claims (added by hand or by
 * JIT). They are reported, never touched.
 */

export interface KnownAccounts {
  /** Docker ids this plan keeps, brings under management or deactivates. */
  readonly claimed: ReadonlySet<string>;
  /** Docker ids with a stored link, whatever became of it. */
  readonly linked: Pick<ReadonlySet<string>, 'has'>;
  /** Findings of the earlier phases: an account one of them names already has its own finding. */
  readonly findings: readonly Finding[];
}

/**
 * `verifiedDomains` (DOCKER_VERIFIED_DOMAINS; null: not checked): an account of another domain is
 * one SCIM cannot manage at all ("Members whose email domain isn't verified on the connection stay
 * outside SCIM"), so assigning the person in the IdP would not help, and the finding says so.
 */
export function findUnmanaged(accounts: readonly DockerUser[], known: KnownAccounts, idp: string, verifiedDomains: readonly string[] | null = null): Finding[] {
  const mentioned = new Set(known.findings.map((f) => f.dockerId).filter((id): id is string => id !== undefined));
  const findings: Finding[] = [];
  for (const u of accounts) {
    if (known.claimed.has(u.id) || known.linked.has(u.id) || mentioned.has(u.id)) continue;
    const outside = !isVerifiedDomain(u.userName, verifiedDomains);
    findings.push({
      code: 'UNMANAGED_ACCOUNT',
      severity: u.active ? 'warning' : 'info',
      subject: u.userName,
      dockerId: u.id,
      message: outside
        ? `${u.active ? 'active' : 'inactive'} Docker account on a domain not verified on the SSO connection (not in DOCKER_VERIFIED_DOMAINS): SCIM cannot manage it, so this tool never changes it`
        : `${u.active ? 'active' : 'inactive'} Docker account that no user assigned in ${idp} claims (added by hand or by JIT); this tool never changes it`,
      advice: !u.active
        ? 'nothing to do'
        : outside
          ? "manage it in Docker by hand, or verify its domain on Docker's SSO connection (and add it to DOCKER_VERIFIED_DOMAINS) to bring it under SCIM"
          : 'assign the person to the Docker app in the IdP to manage them, or remove them in Docker by hand',
    });
  }
  return findings;
}
