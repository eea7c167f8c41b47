import type { DockerSnapshot } from '../model/docker.ts';
import type { Link } from '../model/link.ts';
import { ownEmail } from './diff.ts';
import { teamsByAccount } from './teams.ts';

/**
 * Managed accounts that no longer hold what this tool last applied: changed in Docker behind its
 * back (deactivated or renamed by hand, taken out of a team, deleted). An incremental run that
 * lists Docker whole (VERIFY_EVERY) reads these users afresh with the ones the change feed named,
 * so the plan puts them right; between full runs, nothing else would notice.
 *
 * Only what Docker echoes is compared: a value it leaves out (the extension, a name) is not drift.
 * Membership of a team the tool did not put the account in is left to the full run, and teams are
 * not compared at all on a connection whose teams this run does not sync.
 */
export function driftedLinks(links: readonly Link[], observed: DockerSnapshot, opts: { teamsKnown: boolean } = { teamsKnown: true }): string[] {
  const accounts = new Map(observed.users.map((u) => [u.id, u]));
  const teamsOf = teamsByAccount(observed.groups);
  const drifted: string[] = [];
  for (const link of links) {
    const a = accounts.get(link.dockerId);
    const applied = link.applied;
    // A leaver's account is the tool's only to keep inactive: one deleted or renamed since is no
    // longer its concern (a full run leaves it alone too), and must not be re-read on every check.
    if (!applied.active) {
      if (a?.active === true) drifted.push(link.idpId);
      continue;
    }
    const changed =
      a === undefined ||
      a.active !== applied.active ||
      a.userName.toLowerCase() !== applied.userName.toLowerCase() ||
      differs(a.givenName, applied.givenName) ||
      differs(a.familyName, applied.familyName) ||
      differs(a.role, applied.role) ||
      differs(a.org, applied.org) ||
      // An address is compared as diff.ts compares it: other than the userName, or none.
      (a.email !== undefined && (ownEmail(a.email, a.userName) ?? '').toLowerCase() !== (ownEmail(applied.email, applied.userName) ?? '').toLowerCase()) ||
      // Without team sync no group was read: every member would look taken out of their teams.
      (opts.teamsKnown && applied.teams.some((t) => !(teamsOf.get(a.id) ?? []).includes(t.toLowerCase())));
    if (changed) drifted.push(link.idpId);
  }
  return drifted;
}

/** Docker echoed a value, and it is not the one this tool wrote. */
function differs(seen: string | null | undefined, wrote: string | null): boolean {
  return seen !== undefined && seen !== null && seen !== wrote;
}
