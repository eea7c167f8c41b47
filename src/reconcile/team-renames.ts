import type { Finding } from '../model/finding.ts';

/**
 * A team group renamed in the IdP. Keyed by name alone, a rename reads as "a new team for everyone,
 * and everyone out of the old one": a group-create, a full team-add and a full team-remove, and
 * whatever Docker attached to the old team (repository permissions) left behind on an emptied team.
 * How Docker treats a group renamed through SCIM is not documented (docker-scim.md §5, a gap), so
 * this tool does not rename: it recognises the group by its IdP id (recorded by the last full run,
 * and sent as the team's externalId, as Docker's Entra mapping does), and freezes both names until
 * an admin renames the team in Docker, or the group back. Then the ordinary plan converges.
 *
 * Pure: maps in, renames and findings out.
 */

export interface TeamRename {
  readonly groupId: string;
  /** The team key (org:team) the group had when it was last recorded, and Docker still has. */
  readonly from: string;
  /** Its name now. */
  readonly to: string;
}

export interface RenameInput {
  /** IdP group id → its team key (org:team) this run, for the org:team groups read. */
  readonly current: ReadonlyMap<string, string>;
  /** IdP group id → team key, as the last full run recorded them (state team_sources). */
  readonly recorded: ReadonlyMap<string, string>;
  /** The team names Docker has now, any case. */
  readonly dockerTeams: Iterable<string>;
}

/**
 * Renames still to be done in Docker: the group had another name, Docker still has a team of that
 * name and none of the new one. Once Docker has the new name (renamed there by hand), or no longer
 * the old one, it is an ordinary plan again.
 */
export function findRenames(input: RenameInput): TeamRename[] {
  const docker = new Set<string>();
  for (const t of input.dockerTeams) docker.add(t.toLowerCase());
  const renames: TeamRename[] = [];
  for (const [groupId, to] of input.current) {
    const from = input.recorded.get(groupId);
    if (from === undefined || from.toLowerCase() === to.toLowerCase()) continue;
    if (!docker.has(from.toLowerCase()) || docker.has(to.toLowerCase())) continue;
    renames.push({ groupId, from, to });
  }
  return renames.sort((a, b) => (a.to < b.to ? -1 : a.to > b.to ? 1 : 0));
}

/**
 * What to record after the run: each org:team group's team now, except a group still renamed, which
 * keeps its old team so the next run still knows the rename.
 */
export function sourcesToRecord(current: ReadonlyMap<string, string>, recorded: ReadonlyMap<string, string>, renames: readonly TeamRename[]): Map<string, string> {
  const out = new Map(current);
  for (const r of renames) out.set(r.groupId, recorded.get(r.groupId) ?? r.from);
  return out;
}

/** Team keys (lower case) no operation may touch this run: both names of each rename. */
export function frozenTeams(renames: readonly TeamRename[]): Set<string> {
  const frozen = new Set<string>();
  for (const r of renames) {
    frozen.add(r.from.toLowerCase());
    frozen.add(r.to.toLowerCase());
  }
  return frozen;
}

export function renameFindings(renames: readonly TeamRename[]): Finding[] {
  return renames.map((r) => ({
    code: 'TEAM_RENAMED',
    severity: 'warning',
    subject: r.to,
    message: `the IdP group ${r.groupId} that makes Docker team ${r.from} is now named ${r.to}; neither team is changed until the names agree, so nobody loses ${r.from}'s access in the meantime`,
    advice: `rename the team ${r.from} to ${r.to.slice(r.to.indexOf(':') + 1)} in Docker (Admin Console → Teams), or rename the IdP group back; the next run then syncs its members as usual`,
  }));
}
