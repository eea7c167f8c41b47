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
}

export function classifyLinks(links: readonly Link[], observed: DockerSnapshot, roster: Roster): LinkView {
  const accountById = new Map(observed.users.map((u) => [u.id, u]));
  const accountByName = new Map<string, DockerUser>();
  for (const u of observed.users) if (!accountByName.has(u.userName.toLowerCase())) accountByName.set(u.userName.toLowerCase(), u);

  // Links whose account now answers for another userName than the one this tool last wrote and
  // the one the IdP wants: someone else's account now (or an id Docker reused). Worked out before
  // the users are planned, so no user is refused that account as "already linked to someone".
  const disowned = new Set<string>();
  for (const l of links) {
    // A held user's link is frozen with everything else about them until their record is fixed.
    if (roster.held.has(l.idpId)) continue;
    const account = accountById.get(l.dockerId);
    const d = roster.byId.get(l.idpId);
    if (account && !answersFor(account, l.userName, d?.userName ?? l.userName)) disowned.add(account.id);
  }

  // Linked accounts this plan renames away from their current userName (an email handed on): the
  // user who has that userName now waits one run for it, with a finding instead of an error.
  const vacating = new Set<string>();
  for (const l of links) {
    const account = accountById.get(l.dockerId);
    const d = roster.byId.get(l.idpId);
    if (account && d?.active && !disowned.has(account.id) && account.userName.toLowerCase() !== d.userName.toLowerCase()) vacating.add(account.id);
  }

  return {
    links,
    accountById,
    accountByName,
    linkByIdp: new Map(links.map((l) => [l.idpId, l])),
    linkByDocker: new Map(links.map((l) => [l.dockerId, l])),
    disowned,
    vacating,
  };
}

/**
 * Managed accounts that are active in Docker now: the base of the deactivation share. Long-gone
 * leavers still have links, and counting them would let a mass deactivation look small.
 */
export function countManagedActive(view: LinkView): number {
  return view.links.filter((l) => view.accountById.get(l.dockerId)?.active === true).length;
}

function answersFor(docker: DockerUser, lastApplied: string, wanted: string): boolean {
  const name = docker.userName.toLowerCase();
  return name === lastApplied.toLowerCase() || name === wanted.toLowerCase();
}
