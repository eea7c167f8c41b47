import { SourceReadError } from '../../model/errors.ts';
import type { IdpUser, ScopedRead } from '../../model/idp.ts';
import { eachLimited } from '../../util/concurrency.ts';
import { PAGE_SIZE } from './client.ts';
import { isNotFound, OktaMalformedError } from './errors.ts';
import { hasId, pages, type PageCounter, type ReadDeps } from './listing.ts';
import { groupStrayNotes, strayNotes, type Stray } from './notes.ts';
import { findTeamGroups, type FoundGroup } from './team-groups.ts';
import { isTeamGroupName, toIdpUser, userLabel, type AppUserWire, type UserWire } from './transform.ts';

/**
 * The users an incremental run names, read one by one exactly as the full read (read.ts) sees
 * them:
 * 1. the groups that may be teams, once per call, under the same OKTA_TEAM_GROUPS as the full
 *    read (team-groups.ts: the app's group assignments, the rule's search, the push mappings),
 *    unless the caller has a listing just made: which groups are org:team groups, with the names
 *    the full read uses;
 * 2. per user, `/apps/{appId}/users/{id}?expand=user`: the same AppUser the app-users listing
 *    holds, or 404 E0000007 when the user has no assignment (unassigned, deleted, or a group
 *    assignment Okta has not applied yet);
 * 3. per user, when there are org:team groups, `/users/{id}/groups`, narrowed to them: the
 *    user's `groups`, or, for one without the app, the notes the full read makes (notes.ts; with
 *    `/users/{id}` for the label a note shows, in that rare case only).
 * Only an answer that says "no such assignment" puts a user in `unassigned`; any other failure
 * throws, so an error never looks like an unassignment (invariants 1 and 11).
 */

export async function readOktaUsers(deps: ReadDeps, idpIds: readonly string[], requests: () => number, listed?: readonly FoundGroup[]): Promise<ScopedRead> {
  const started = performance.now();
  const counter: PageCounter = { pages: 0 };
  const ids = [...new Set(idpIds)];

  const groups = listed ?? (await findTeamGroups(deps, counter));
  const teamGroups = groups.filter((g) => isTeamGroupName(g.name));
  const teamById = new Map(teamGroups.map((g) => [g.id, g]));

  const found = new Map<string, IdpUser>();
  const gone = new Set<string>();
  const strays = new Map<string, Stray>();
  // Per group found by rule or push only: its members read here who are not app users.
  const strayCounts = new Map<string, number>();
  await eachLimited(ids, deps.concurrency, async (id) => {
    // No Okta user has an empty id; asked for one, the path would name the whole listing.
    if (id === '') {
      gone.add(id);
      return;
    }
    const au = await appUser(deps, id);
    const memberOf = teamById.size > 0 ? await teamGroupsOf(deps, id, teamById, counter) : [];
    if (au !== null) {
      // The user was deleted between the two answers: read again next run, not guessed at now.
      if (memberOf === null) throw userVanished(id);
      found.set(id, toIdpUser(au, memberOf.map((g) => g.name)));
      return;
    }
    gone.add(id);
    if (memberOf === null) return;
    for (const g of memberOf) if (!g.via.includes('assigned')) strayCounts.set(g.id, (strayCounts.get(g.id) ?? 0) + 1);
    const viaAssigned = memberOf.filter((g) => g.via.includes('assigned')).map((g) => g.name);
    if (viaAssigned.length > 0) {
      const user = await oktaUser(deps, id);
      if (user !== null) strays.set(id, { label: userLabel(user), groups: viaAssigned });
    }
  });

  const users = ids.flatMap((id) => found.get(id) ?? []);
  const unassigned = ids.filter((id) => gone.has(id));
  const notes = [
    ...strayNotes(ids.flatMap((id) => strays.get(id) ?? []), teamGroups),
    // Only some members were read: the count is of those, not "N of M".
    ...groupStrayNotes(teamGroups.map((g) => ({ name: g.name, strays: strayCounts.get(g.id) ?? 0, members: null }))),
  ];
  const stats = { requests: requests(), pages: counter.pages, durationMs: Math.round(performance.now() - started) };
  deps.logger.info({ asked: ids.length, users: users.length, unassigned: unassigned.length, notes: notes.length, ...stats }, 'okta scoped read complete');
  // Every group found names the group an assignment comes through, when it is assigned to the app.
  return { users, unassigned, notes, stats, groupNames: new Map(groups.map((g) => [g.id, g.name])) };
}

/** The user's AppUser, with `_embedded.user`; null when Okta says the user has no assignment to the app. */
async function appUser(deps: ReadDeps, id: string): Promise<AppUserWire | null> {
  const op = `GET /api/v1/apps/${deps.appId}/users/${id}`;
  let body: unknown;
  try {
    body = await deps.getJson(`/api/v1/apps/${encodeURIComponent(deps.appId)}/users/${encodeURIComponent(id)}?expand=user`);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw deps.fail(err, op, 'app');
  }
  // Another user's record (a proxy's mix-up) would be planned as this one: refused, not trusted.
  if (!hasId(body) || body.id !== id) {
    throw deps.fail(new OktaMalformedError(`the answer is not the app user ${id} but ${hasId(body) ? `the app user ${body.id}` : 'something without an id'}`), op, 'app');
  }
  return body as AppUserWire;
}

/** The org:team groups the user is a direct member of; null when Okta has no such user. */
async function teamGroupsOf(deps: ReadDeps, id: string, teamById: ReadonlyMap<string, FoundGroup>, counter: PageCounter): Promise<FoundGroup[] | null> {
  const path = `GET /api/v1/users/${id}/groups`;
  const memberOf: FoundGroup[] = [];
  try {
    // subject 'app': the 404 that would get the group hint is answered here, before `fail`.
    // Okta documents no page size here (one answer, in the spec); its usual 200 sets the page cap.
    for await (const items of pages(() => deps.lists.userGroups(id), (n) => `${path} (page ${n})`, 'app', deps, counter, PAGE_SIZE.groupUsers)) {
      for (const [i, g] of items.entries()) {
        if (!hasId(g)) throw deps.fail(new OktaMalformedError(`group ${i + 1} has no id`), path, 'app');
        const team = teamById.get(g.id);
        if (team !== undefined) memberOf.push(team);
      }
    }
  } catch (err) {
    if (isNotFound(err)) return null;
    throw err;
  }
  return memberOf;
}

/** The Okta user, for a note's label; null when Okta has no such user (deleted meanwhile). */
async function oktaUser(deps: ReadDeps, id: string): Promise<UserWire | null> {
  const op = `GET /api/v1/users/${id}`;
  let body: unknown;
  try {
    body = await deps.getJson(`/api/v1/users/${encodeURIComponent(id)}`);
  } catch (err) {
    if (isNotFound(err)) return null;
    throw deps.fail(err, op, 'app');
  }
  if (!hasId(body)) throw deps.fail(new OktaMalformedError('the answer has no id'), op, 'app');
  return body as UserWire;
}

function userVanished(id: string): SourceReadError {
  return new SourceReadError(`okta: user ${id} has an assignment to the Docker app, but Okta no longer knows the user (deleted while being read)`, {
    system: 'okta',
    operation: `GET /api/v1/users/${id}/groups`,
    status: 404,
    hint: 'The user changed while this run read it; nothing was planned from this partial view. The next run reads the new state.',
    transient: true,
  });
}
