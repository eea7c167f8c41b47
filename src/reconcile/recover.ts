import type { DockerSnapshot, DockerUser, UserAttributes } from '../model/docker.ts';
import type { InterruptedWrite, RecoveredLink, Recovery } from '../model/recovery.ts';

/**
 * After a crash, a create or adopt may have reached Docker without its link being saved. Left
 * alone, the next plan would see an unknown account with that userName and (with adoption off)
 * never manage it, or list our own creation as an adoption. The journal says which writes were in
 * flight; Docker's userName says whether they landed. Pure: the caller reads and writes.
 */
export function recoverInterrupted(
  interrupted: readonly InterruptedWrite[],
  observed: DockerSnapshot,
  linkedDockerIds: ReadonlySet<string>,
  linkedIdpIds: ReadonlySet<string>,
): Recovery {
  const byName = new Map(observed.users.map((u) => [u.userName.toLowerCase(), u]));
  const links: RecoveredLink[] = [];
  const abandoned: InterruptedWrite[] = [];
  const taken = new Set(linkedDockerIds);
  for (const w of interrupted) {
    const isUserWrite = w.kind === 'create' || w.kind === 'adopt';
    const found = isUserWrite && w.userName && w.idpId && !linkedIdpIds.has(w.idpId) ? byName.get(w.userName.toLowerCase()) : undefined;
    if (found && w.idpId && !taken.has(found.id) && w.target && holds(found, w.target)) {
      taken.add(found.id);
      links.push({
        idpId: w.idpId,
        dockerId: found.id,
        origin: w.kind === 'create' ? 'created' : 'adopted',
        userName: found.userName,
        opId: w.opId,
        runId: w.runId,
        target: w.target,
      });
    } else abandoned.push(w);
  }
  return { links, abandoned };
}

/**
 * Docker holds what the interrupted write sent. An account with the same userName but other
 * values was made by someone else meanwhile (by hand, by JIT): linking it here would be an
 * adoption nobody reviewed, so it is left for the planner to list.
 */
function holds(docker: DockerUser, target: UserAttributes): boolean {
  const same = (a: string | null | undefined, b: string | null) => a === undefined || (a ?? null) === (b ?? null);
  return (
    docker.userName.toLowerCase() === target.userName.toLowerCase() &&
    (target.givenName === null || docker.givenName === target.givenName) &&
    (target.familyName === null || docker.familyName === target.familyName) &&
    same(docker.role, target.role) &&
    same(docker.org, target.org) &&
    same(docker.team, target.team)
  );
}
