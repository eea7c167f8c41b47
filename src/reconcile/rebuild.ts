import type { DesiredState } from '../model/desired.ts';
import type { DockerSnapshot, DockerRole } from '../model/docker.ts';
import type { AppliedState } from '../model/link.ts';

/**
 * Re-linking from Docker by userName, for a lost or corrupt state file: every IdP user (active
 * or not) whose userName an account in Docker holds is linked to it, with what Docker holds as the
 * last applied state. Nothing is written to Docker; the next sync plans the differences as usual.
 * Pure: the command reads both sides and writes the state file.
 */

export interface RebuiltLink {
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
  readonly applied: AppliedState;
}

export interface RebuildPlan {
  readonly links: readonly RebuiltLink[];
  /** Active IdP users with no Docker account: the next sync creates them. */
  readonly toCreate: readonly string[];
  /** IdP users held for bad records: not linked; the next sync reports them again. */
  readonly held: number;
  /** Docker accounts no IdP user claims: stay unmanaged. */
  readonly unmanaged: readonly string[];
}

export function planRebuild(desired: DesiredState, observed: DockerSnapshot): RebuildPlan {
  const byName = new Map(observed.users.map((u) => [u.userName.toLowerCase(), u]));
  const teamsOf = new Map<string, string[]>();
  for (const g of observed.groups) for (const m of g.members) teamsOf.set(m, [...(teamsOf.get(m) ?? []), g.displayName]);
  const links: RebuiltLink[] = [];
  const toCreate: string[] = [];
  const claimed = new Set<string>();
  // Active users first, so a rehire's account is not given to the leaver it replaced.
  for (const d of [...desired.users.filter((u) => u.active), ...desired.users.filter((u) => !u.active)]) {
    const docker = byName.get(d.userName.toLowerCase());
    if (!docker || claimed.has(docker.id)) {
      if (d.active && !docker) toCreate.push(d.userName);
      continue;
    }
    claimed.add(docker.id);
    const wanted = new Set(d.teams.map((t) => t.toLowerCase()));
    links.push({
      idpId: d.idpId,
      dockerId: docker.id,
      userName: docker.userName,
      applied: {
        userName: docker.userName,
        givenName: docker.givenName,
        familyName: docker.familyName,
        active: docker.active,
        // What Docker holds is what counts as applied; an extension Docker does not echo is
        // unknown, which the next sync resolves by writing the IdP's values.
        role: (docker.role ?? null) as DockerRole,
        org: docker.org ?? '',
        team: docker.team ?? null,
        teams: (teamsOf.get(docker.id) ?? []).filter((t) => wanted.has(t.toLowerCase())).sort(),
      },
    });
  }
  const unmanaged = observed.users.filter((u) => !claimed.has(u.id)).map((u) => u.userName);
  return { links, toCreate: toCreate.sort(), held: desired.held.length, unmanaged: unmanaged.sort() };
}
