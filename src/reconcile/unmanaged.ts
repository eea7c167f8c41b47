import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';

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

export function findUnmanaged(accounts: readonly DockerUser[], known: KnownAccounts, idp: string): Finding[] {
  const mentioned = new Set(known.findings.map((f) => f.dockerId).filter((id): id is string => id !== undefined));
  const findings: Finding[] = [];
  for (const u of accounts) {
    if (known.claimed.has(u.id) || known.linked.has(u.id) || mentioned.has(u.id)) continue;
    findings.push({
      code: 'UNMANAGED_ACCOUNT',
      severity: u.active ? 'warning' : 'info',
      subject: u.userName,
      dockerId: u.id,
      message: `${u.active ? 'active' : 'inactive'} Docker account that no user assigned in ${idp} claims (added by hand or by JIT); this tool never changes it`,
      advice: u.active ? 'assign the person to the Docker app in the IdP to manage them, or remove them in Docker by hand' : 'nothing to do',
    });
  }
  return findings;
}
