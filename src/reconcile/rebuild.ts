import type { DesiredState } from '../model/desired.ts';
import { DOCKER_ROLES, type DockerRole, type DockerSnapshot } from '../model/docker.ts';
import type { AppliedState, LinkOrigin } from '../model/link.ts';
import { ownEmail } from './diff.ts';

/**
 * Re-linking from Docker by userName, for a lost or corrupt state file: every IdP user (active
 * or not) whose userName an account in Docker holds is matched to it, with what Docker holds as the
 * last applied state. Nothing is written to Docker; the next sync plans the differences as usual.
 * Pure: the command reads both sides and writes the state file.
 *
 * A userName match alone does not prove the tool ever managed the account (DESIGN invariant 2).
 * Proof is what the current state file still holds: a link, or a journaled creation. A match with
 * proof keeps its origin; one without is adopted when ADOPT_EXISTING allows it (a sync would adopt
 * it anyway), and otherwise only listed, unless the admin confirms it with --adopt-unproven.
 */

export interface RebuiltLink {
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
  readonly origin: LinkOrigin;
  /** True when the current state file proves the tool owns the account. */
  readonly proven: boolean;
  readonly applied: AppliedState;
}

/** A userName match with no proof of ownership, left unlinked (ADOPT_EXISTING=false). */
export interface UnprovenMatch {
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
}

export interface RebuildOptions {
  /** Docker accounts the current state file proves the tool owns, with their origin (StateStore.ownership). */
  readonly owned: ReadonlyMap<string, LinkOrigin>;
  readonly adoptExisting: boolean;
  /** The admin confirmed the unproven matches (--adopt-unproven). */
  readonly adoptUnproven: boolean;
}

export interface RebuildPlan {
  readonly links: readonly RebuiltLink[];
  /** Matches without proof that are not linked: the admin confirms them with --adopt-unproven. */
  readonly unproven: readonly UnprovenMatch[];
  /** Active IdP users with no Docker account: the next sync creates them. */
  readonly toCreate: readonly string[];
  /** IdP users held for bad records: not linked; the next sync reports them again. */
  readonly held: number;
  /** Docker accounts no IdP user claims: stay unmanaged. */
  readonly unmanaged: readonly string[];
}

export function planRebuild(desired: DesiredState, observed: DockerSnapshot, opts: RebuildOptions): RebuildPlan {
  const byName = new Map(observed.users.map((u) => [u.userName.toLowerCase(), u]));
  const teamsOf = new Map<string, string[]>();
  for (const g of observed.groups) for (const m of g.members) teamsOf.set(m, [...(teamsOf.get(m) ?? []), g.displayName]);
  const links: RebuiltLink[] = [];
  const unproven: UnprovenMatch[] = [];
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
    const proof = opts.owned.get(docker.id);
    // ADOPT_EXISTING covers what a sync would adopt: accounts of active users. A sync never adopts
    // an inactive user's account (it reports INACTIVE_UNLINKED and leaves it alone), so linking one
    // here on a name match alone would have the next sync deactivate an account the tool may never
    // have managed. Only proof, or the admin's --adopt-unproven, links it.
    const adoptable = d.active ? opts.adoptExisting : false;
    if (proof === undefined && !adoptable && !opts.adoptUnproven) {
      unproven.push({ idpId: d.idpId, dockerId: docker.id, userName: docker.userName });
      continue;
    }
    const wanted = new Set(d.teams.map((t) => t.toLowerCase()));
    // A role Docker echoes that this tool does not know is as unknown as one it does not echo.
    const role = DOCKER_ROLES.find((r) => r === docker.role) ?? null;
    const email = ownEmail(docker.email, docker.userName);
    links.push({
      idpId: d.idpId,
      dockerId: docker.id,
      userName: docker.userName,
      origin: proof ?? 'adopted',
      proven: proof !== undefined,
      applied: {
        userName: docker.userName,
        givenName: docker.givenName,
        familyName: docker.familyName,
        active: docker.active,
        // What Docker holds is what counts as applied; an extension Docker does not echo is
        // unknown (null), which the next sync resolves by writing the IdP's values. AppliedState
        // does not admit null yet (model/link.ts), hence the cast; the state store reads it back
        // as unknown (state/rows.ts isApplied).
        role: role as DockerRole,
        org: docker.org ?? '',
        team: docker.team ?? null,
        ...(email !== null ? { email } : {}),
        teams: (teamsOf.get(docker.id) ?? []).filter((t) => wanted.has(t.toLowerCase())).sort(),
      },
    });
  }
  const unmanaged = observed.users.filter((u) => !claimed.has(u.id)).map((u) => u.userName);
  return { links, unproven, toCreate: toCreate.sort(), held: desired.held.length, unmanaged: unmanaged.sort() };
}
