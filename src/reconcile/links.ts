import type { DockerSnapshot, DockerUser } from '../model/docker.ts';
import type { Link } from '../model/link.ts';
import type { Roster } from './roster.ts';

/**
 * Phase 1 of the planner: the stored links against what Docker holds now. Which linked accounts
 * are no longer the linked user's (disowned), which are being renamed away from their userName
 * (vacating), and the lookups the later phases share. Worked out before any user is planned, so
 * that no user's decision depends on how far the others have got.
 */
export interface LinkView {
  readonly links: readonly Link[];
  readonly accountById: ReadonlyMap<string, DockerUser>;
  /** By lowercased userName; the first account Docker listed wins. */
  readonly accountByName: ReadonlyMap<string, DockerUser>;
  readonly linkByIdp: ReadonlyMap<string, Link>;
  readonly linkByDocker: ReadonlyMap<string, Link>;
  /** Docker ids of linked accounts that now answer for someone else. */
  readonly disowned: ReadonlySet<string>;
  /** Docker ids of linked accounts this plan renames away from their current userName. */
  readonly vacating: ReadonlySet<string>;
  /**
   * Managed accounts that are active in Docker now: the base of the deactivation share. Long-gone
   * leavers still have links, and counting them would let a mass deactivation look small.
   */
  readonly managedActive: number;
}

export function classifyLinks(links: readonly Link[], observed: DockerSnapshot, roster: Roster): LinkView {
  const accountById = new Map<string, DockerUser>();
  const accountByName = new Map<string, DockerUser>();
  for (const u of observed.users) {
    accountById.set(u.id, u);
    const name = u.userName.toLowerCase();
    if (!accountByName.has(name)) accountByName.set(name, u);
  }

  // One pass over 100,000 links: each lookup here is a cache miss or two at that size, and the
  // planner's cost is mostly such lookups, so each link's account and user are looked up once.
  const linkByIdp = new Map<string, Link>();
  const linkByDocker = new Map<string, Link>();
  const disowned = new Set<string>();
  const renamed: string[] = [];
  let managedActive = 0;
  for (const l of links) {
    linkByIdp.set(l.idpId, l);
    linkByDocker.set(l.dockerId, l);
    const account = accountById.get(l.dockerId);
    if (!account) continue;
    if (account.active) managedActive += 1;
    const d = roster.byId.get(l.idpId);
    const name = account.userName.toLowerCase();
    // Links whose account now answers for another userName than the one this tool last wrote and
    // the one the IdP wants: someone else's account now (or an id Docker reused). Worked out
    // before the users are planned, so no user is refused that account as "already linked to
    // someone". A held user's link is frozen with everything else about them until their record
    // is fixed.
    if (!roster.held.has(l.idpId) && name !== l.userName.toLowerCase() && name !== (d?.userName ?? l.userName).toLowerCase()) disowned.add(account.id);
    // Linked accounts this plan renames away from their current userName (an email handed on):
    // the user who has that userName now waits one run for it, with a finding instead of an error.
    if (d?.active && name !== d.userName.toLowerCase()) renamed.push(account.id);
  }
  // An account disowned through any link is not renamed through another (two links on one account
  // only in a damaged state file), hence after the pass.
  const vacating = new Set<string>();
  for (const id of renamed) if (!disowned.has(id)) vacating.add(id);

  return { links, accountById, accountByName, linkByIdp, linkByDocker, disowned, vacating, managedActive };
}
