import { eachLimited } from '../../util/concurrency.ts';
import type { IdpGroup, IdpSnapshot, IdpUser } from '../../model/idp.ts';
import { appUsers, groupMembers, type PageCounter, type ReadDeps } from './listing.ts';
import { groupStrayNotes, strayNotes, type GroupStrays, type Stray } from './notes.ts';
import { findTeamGroups } from './team-groups.ts';
import { isTeamGroupName, toIdpGroup, toIdpUser, userLabel } from './transform.ts';

/**
 * Which Okta calls, in which order, for one complete read:
 * 1. the app's users (`/apps/{appId}/users?expand=user`): who has the Docker app, with the app
 *    profile. Only they exist for Docker: groups never make anyone assigned;
 * 2. the groups that may be teams, under OKTA_TEAM_GROUPS (team-groups.ts): assigned to the app,
 *    matched by name rule, or pushed;
 * 3. the direct members of every such group named `org:team` (`/groups/{id}/users`).
 * Each listing throws on any page that failed (listing.ts), so the read is whole or an error.
 */

/** One complete read, or a SourceReadError. `requests()` reports the executor's count for the stats. */
export async function readOkta(deps: ReadDeps, requests: () => number): Promise<IdpSnapshot> {
  const started = performance.now();
  const counter: PageCounter = { pages: 0 };

  // 1. App users, keyed by Okta user id (AppUser.id), each turned into an IdpUser as its page
  //    arrives: the SDK's objects are many times the size of what is kept, and at 100,000 users
  //    holding them until the end was most of the read's memory. Cursor paging by id should never
  //    repeat a user; if Okta ever did, the later (fresher) copy wins rather than counting twice.
  const listed = (listing: 'users' | 'groups' | 'members', items: number) => deps.observer?.listed?.('okta', listing, items, null);
  const users = new Map<string, IdpUser>();
  for await (const page of appUsers(deps, counter)) {
    for (const au of page) users.set(String(au.id), toIdpUser(au, []));
    listed('users', users.size);
  }

  // 2. The groups that may be teams.
  const found = await findTeamGroups(deps, counter, (n) => listed('groups', n));

  // 3. Members of org:team groups. Other groups only grant the app (e.g. "Docker Users"); their
  //    members are app users already and carry no team, so reading them would only spend rate
  //    limit. Only what the membership needs is kept of each member: the id, and a label for a stray.
  const teamGroups = found.filter((g) => isTeamGroupName(g.name));
  const memberCounts = new Map<string, number>();
  const groupsOf = new Map<string, string[]>();
  // Members who are not app users: one by one for assigned groups (they should have the app
  // through it), counted per group for the others (notes.ts says why).
  const strays = new Map<string, Stray>();
  const strayCounts = new Map<string, number>();
  // One running count over every group's members: the groups are listed at once.
  let memberships = 0;
  await eachLimited(teamGroups, deps.concurrency, async (g) => {
    const assignedGroup = g.via.includes('assigned');
    let count = 0;
    let notAssigned = 0;
    for await (const page of groupMembers(deps, g, counter)) {
      count += page.length;
      memberships += page.length;
      listed('members', memberships);
      for (const m of page) {
        const id = String(m.id);
        if (users.has(id)) {
          const list = groupsOf.get(id) ?? [];
          list.push(g.name);
          groupsOf.set(id, list);
        } else if (assignedGroup) {
          const s = strays.get(id) ?? { label: userLabel(m), groups: [] };
          s.groups.push(g.name);
          strays.set(id, s);
        } else notAssigned += 1;
      }
    }
    memberCounts.set(g.id, count);
    strayCounts.set(g.id, notAssigned);
  });

  for (const [id, names] of groupsOf) {
    const u = users.get(id) as IdpUser;
    users.set(id, { ...u, groups: [...new Set(names)].sort() });
  }
  const idpUsers: IdpUser[] = [...users.values()];
  // memberCount is every direct member read, app user or not: it describes the Okta group.
  const idpGroups: IdpGroup[] = found.map((g) => toIdpGroup(g.id, g.name, memberCounts.get(g.id) ?? null, g.via));
  const counted: GroupStrays[] = teamGroups.map((g) => ({ name: g.name, strays: strayCounts.get(g.id) ?? 0, members: memberCounts.get(g.id) ?? 0 }));
  const notes = [...strayNotes(strays.values(), teamGroups), ...groupStrayNotes(counted)];

  const stats = { requests: requests(), pages: counter.pages, durationMs: Math.round(performance.now() - started) };
  deps.logger.info({ users: idpUsers.length, groups: idpGroups.length, teamGroups: teamGroups.length, notes: notes.length, ...stats }, 'okta read complete');
  return { source: 'okta', users: idpUsers, groups: idpGroups, notes, stats };
}
