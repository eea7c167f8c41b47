import type { IdpUser, ScopedRead, SourceNote } from '../../model/idp.ts';
import { batchGet, type BatchGet } from './batch.ts';
import { EntraMalformedError, READ_PERMISSIONS } from './errors.ts';
import { pages, roleIdsOf, typeName, userRoleKey, type AssignmentListing, type PageCounter, type ReadDeps } from './read.ts';
import { isFullyRead, roleValues, toIdpUser, userSelect, type UserWire } from './transform.ts';

/**
 * Some users read afresh, each exactly as a full read (read.ts) would give them: the same
 * `$select`, the same role rule (their own assignments' app roles and those of the assigned groups
 * they are in), the same groups (direct members of assigned groups, or transitive ones with
 * ENTRA_GROUP_MEMBERSHIP=transitive), the same note. Per user, two `$batch` items:
 * `GET /users/{id}?$select=…` and `GET /users/{id}/memberOf` (or `transitiveMemberOf`), so ten
 * users cost one request. Who is assigned comes from the app's assignment listing, which the
 * caller passes (see feed.ts), since Graph can tell "assigned" only from there.
 *
 * A user Graph no longer has (404), or who is neither directly assigned nor in an assigned group,
 * is `unassigned`. Anything else that goes wrong fails the whole read: an error never makes anyone
 * look unassigned (invariants 1 and 11).
 */

/** `$top` for a user's group listing: Graph's maximum. */
const GROUPS_PAGE = 999;

export type Scope = AssignmentListing;

export async function readUsersById(deps: ReadDeps, scope: Scope, idpIds: readonly string[], counter: PageCounter): Promise<Omit<ScopedRead, 'stats'>> {
  const ids = [...new Set(idpIds)].sort();
  if (ids.length === 0) return { users: [], unassigned: [], notes: [], groupNames: new Map() };
  const transitive = deps.groupMembership === 'transitive';
  const membership = transitive ? 'transitiveMemberOf' : 'memberOf';
  const select = userSelect(deps.attributes).join(',');
  const items: BatchGet[] = ids.flatMap((id): BatchGet[] => {
    const path = `/users/${encodeURIComponent(id)}`;
    return [
      { key: `u:${id}`, url: `${path}?$select=${select}`, describe: `GET /users/${id}`, subject: 'user', missingOk: true },
      { key: `m:${id}`, url: `${path}/${membership}?$select=id,displayName&$top=${GROUPS_PAGE}`, describe: `GET /users/${id}/${membership}`, subject: 'user', missingOk: true },
    ];
  });
  const answers = await batchGet(items, deps);

  const users: IdpUser[] = [];
  const unassigned: string[] = [];
  const notes: SourceNote[] = [];
  const groupNames = new Map<string, string>();
  for (const id of ids) {
    const u = answers.get(`u:${id}`) as UserWire | undefined;
    if (u === undefined) {
      // 404 for someone this very run's assignment listing holds: Graph's replicas disagree (a
      // user just created, or just deleted). A full read would fail on it too; taking it for an
      // unassignment would deactivate an assigned user (invariant 11). The next run reads again.
      if (scope.assigned.users.has(id)) {
        throw deps.fail(
          new EntraMalformedError(`the user is directly assigned to the Docker app, yet GET /users/${id} answered 404 (Graph's replicas disagree for a moment after a change)`),
          `GET /users/${id} (in $batch)`,
          'user',
        );
      }
      // 404: deleted (or soft-deleted) since; a full read would not list them either.
      unassigned.push(id);
      continue;
    }
    const op = `GET /users/${id} (in $batch)`;
    if (!isFullyRead(u)) {
      throw deps.fail(
        new EntraMalformedError('the user came back without userPrincipalName or accountEnabled even when read by id', {
          hint: `Graph returned the user without its properties, which it does when the app may list group members but not read users. Grant the app registration the application permission User.Read.All (with ${READ_PERMISSIONS}) and admin consent.`,
        }),
        op,
        'user',
      );
    }
    // The object read must be the one asked for: its id becomes the link to a Docker account.
    if (typeof u.id !== 'string' || u.id.toLowerCase() !== id.toLowerCase()) {
      throw deps.fail(new EntraMalformedError(`the user read has ${typeof u.id === 'string' && u.id !== '' ? `another id (${u.id.slice(0, 40)})` : 'no string id'}`), op, 'user');
    }
    const groups = await groupsOf(deps, id, membership, answers.get(`m:${id}`), counter);
    const viaGroups = groups.filter((g) => scope.assigned.groups.has(g.id)).map((g) => named(deps, g, `GET /users/${id}/${membership} (in $batch)`));
    const direct = scope.assigned.users.has(id);
    if (!direct && viaGroups.length === 0) {
      unassigned.push(id);
      continue;
    }
    const roleIds = roleIdsOf(userRoleKey(scope.assigned, id, viaGroups.map((g) => g.id)));
    const { user, note } = toIdpUser(u, {
      userNameSource: deps.userNameSource,
      attributes: deps.attributes,
      appRoleValues: roleValues(roleIds, scope.sp.roles),
      groups: viaGroups.map((g) => g.name),
      direct,
      viaGroups: viaGroups.map((g) => g.id),
    });
    for (const g of viaGroups) groupNames.set(g.id, g.name);
    users.push(user);
    if (note) notes.push(note);
  }
  return { users, unassigned, notes, groupNames };
}

interface GroupRef {
  id: string;
  name: unknown;
}

/** The name decides the team (org:team), as in the full read: missing or of another type fails the read. */
function named(deps: ReadDeps, g: GroupRef, op: string): { id: string; name: string } {
  const name = g.name;
  if (typeof name !== 'string' || name === '') {
    throw deps.fail(new EntraMalformedError(`the group's displayName is ${name === undefined || name === null || name === '' ? 'missing' : `not a string (${typeName(name)})`}`), `GET /groups/${g.id} (${op})`, 'group');
  }
  return { id: g.id, name };
}

/**
 * The groups a user is in, from the `$batch` answer; read again through the paging of a plain GET
 * when it has a next page (a user in more than 999 groups), since nothing inside a `$batch` answer
 * is ever followed as it is (invariant 10: the listing checks each link's origin).
 */
async function groupsOf(deps: ReadDeps, id: string, membership: string, first: Record<string, unknown> | undefined, counter: PageCounter): Promise<GroupRef[]> {
  const op = `GET /users/${id}/${membership} (in $batch)`;
  // The user was read, but their groups are gone: deleted between the two items. An answer that
  // does not add up is an error, not "unassigned"; the next run sees a consistent directory.
  if (first === undefined) throw deps.fail(new EntraMalformedError('the user was read, but listing their groups answered 404'), op, 'user');
  let items: unknown[];
  const value = first.value;
  if (!Array.isArray(value)) throw deps.fail(new EntraMalformedError('the page has no "value" array'), op, 'user');
  const link = first['@odata.nextLink'];
  if (link !== undefined && link !== null && typeof link !== 'string') throw deps.fail(new EntraMalformedError('"@odata.nextLink" is not a string'), op, 'user');
  if (typeof link === 'string' && link !== '') {
    items = [];
    const path = `/users/${encodeURIComponent(id)}/${membership}`;
    const listing = pages(deps, { path, route: `GET /users/{id}/${membership}`, select: ['id', 'displayName'] }, (n) => `GET /users/${id}/${membership} (page ${n})`, 'read', counter);
    for await (const page of listing) items.push(...page);
  } else {
    items = value;
  }
  const out: GroupRef[] = [];
  for (const [i, raw] of items.entries()) {
    const g = (raw ?? {}) as Record<string, unknown>;
    const type = g['@odata.type'];
    if (typeof g.id !== 'string' || g.id === '' || typeof type !== 'string') throw deps.fail(new EntraMalformedError(`group ${i + 1} has no id or @odata.type, or one is not a string`), op, 'user');
    // Directory roles and administrative units are listed here too: only groups can be assigned.
    if (type !== '#microsoft.graph.group') continue;
    out.push({ id: g.id, name: g.displayName });
  }
  return out;
}
