import type { DockerSnapshot } from '../model/docker.ts';
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
    if (found && w.idpId && !taken.has(found.id)) {
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
