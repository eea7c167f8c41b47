import { SourceReadError } from '../../model/errors.ts';
import type { TeamGroupVia } from '../../model/idp.ts';
import { eachLimited } from '../../util/concurrency.ts';
import { PAGE_SIZE } from './client.ts';
import { isNotFound, OktaMalformedError } from './errors.ts';
import { appGroups, hasId, pages, type AssignedGroup, type PageCounter, type ReadDeps } from './listing.ts';
import { groupProfileName, matchesRule, ruleSearch, type GroupWire, type PushMappingWire, type TeamGroupRule } from './transform.ts';

/**
 * Which Okta groups may become Docker teams (OKTA_TEAM_GROUPS), as one list, a union by group id
 * that says how each was found:
 * - assigned: the groups assigned to the Docker app (`/apps/{appId}/groups?expand=group`), the
 *   only way before issue 16;
 * - rule: the groups whose name matches OKTA_GROUP_RULE, as Docker's Okta guide picks them with a
 *   Push Groups rule (`/groups?search=profile.name sw "…"`, paged; never `q=`, which stops at 300);
 * - push: the source groups of the app's Group Push mappings that are ACTIVE or ERROR
 *   (`/apps/{appId}/group-push/mappings`), each then read by id (`/groups/{id}`).
 * Any listing that fails fails the read: an empty or partial list here would remove members from
 * every team it misses (invariants 1 and 11). Whether a group's name is org:team, and who its
 * members are, is the caller's business.
 */

export interface TeamGroupConfig {
  readonly sources: readonly TeamGroupVia[];
  /** Set when `sources` includes 'rule'. */
  readonly rule: TeamGroupRule | null;
}

export interface FoundGroup extends AssignedGroup {
  /** How the group was found, in the order assigned, rule, push. */
  readonly via: readonly TeamGroupVia[];
}

/**
 * The groups under every configured source, each once: assigned ones first (in listing order),
 * then those only the rule found, then those only pushed. `listed` is told the running count.
 */
export async function findTeamGroups(deps: ReadDeps, counter: PageCounter, listed: (groups: number) => void = () => {}): Promise<FoundGroup[]> {
  const { sources, rule } = deps.teamGroups;
  const found = new Map<string, { id: string; name: string; via: TeamGroupVia[] }>();
  const add = (groups: readonly AssignedGroup[], via: TeamGroupVia) => {
    for (const g of groups) {
      const known = found.get(g.id);
      if (known) {
        if (!known.via.includes(via)) known.via.push(via);
      } else found.set(g.id, { id: g.id, name: g.name, via: [via] });
    }
    listed(found.size);
  };
  if (sources.includes('assigned')) for await (const page of appGroups(deps, counter)) add(page, 'assigned');
  if (sources.includes('rule')) {
    if (rule === null) throw new Error('okta source: OKTA_TEAM_GROUPS includes rule but no OKTA_GROUP_RULE was given');
    for await (const page of ruleGroups(deps, rule, counter)) add(page, 'rule');
  }
  if (sources.includes('push')) add(await pushedGroups(deps, counter), 'push');
  return [...found.values()];
}

/** The groups whose name matches the rule, page by page. */
async function* ruleGroups(deps: ReadDeps, rule: TeamGroupRule, counter: PageCounter): AsyncGenerator<AssignedGroup[], void, undefined> {
  const search = ruleSearch(rule);
  const path = `GET /api/v1/groups?search=${search}`;
  let page = 0;
  for await (const items of pages(() => deps.lists.groups(search), (n) => `${path} (page ${n})`, 'app', deps, counter, PAGE_SIZE.groups)) {
    page += 1;
    const out: AssignedGroup[] = [];
    for (const [i, item] of items.entries()) {
      const g = checkedGroup(item, deps, `${path} (page ${page})`, `group ${i + 1}`);
      // Okta's search index is eventually consistent, and a proxy may answer more than it was
      // asked: only a name that matches the rule here makes a team.
      if (matchesRule(g.name, rule)) out.push(g);
      else deps.logger.debug({ group: g.name, rule: search }, 'okta group search returned a group the rule does not match; ignored');
    }
    yield out;
  }
}

/**
 * The source groups of the app's Group Push mappings, except INACTIVE ones. ERROR is kept: it is
 * the last push having failed (Okta retries it), not the admin's choice, and dropping the group
 * would remove its members from their team until the push works again.
 */
async function pushedGroups(deps: ReadDeps, counter: PageCounter): Promise<AssignedGroup[]> {
  const path = `GET /api/v1/apps/${deps.appId}/group-push/mappings`;
  const ids = new Set<string>();
  try {
    let page = 0;
    for await (const items of pages(() => deps.lists.pushMappings(deps.appId), (n) => `${path} (page ${n})`, 'app', deps, counter, PAGE_SIZE.pushMappings)) {
      page += 1;
      for (const [i, item] of items.entries()) {
        const m = item as PushMappingWire;
        const what = `mapping ${i + 1}${hasId(item) ? ` (${item.id})` : ''}`;
        if (typeof m.sourceGroupId !== 'string' || m.sourceGroupId === '') throw deps.fail(new OktaMalformedError(`${what} has no sourceGroupId`), `${path} (page ${page})`, 'app');
        // A status that is not a string says nothing about whether the push is on: refused, not guessed.
        if (typeof m.status !== 'string') throw deps.fail(new OktaMalformedError(`${what} has no status`), `${path} (page ${page})`, 'app');
        if (m.status.toUpperCase() !== 'INACTIVE') ids.add(m.sourceGroupId);
      }
    }
  } catch (err) {
    throw pushApiError(err);
  }
  const groups = new Map<string, AssignedGroup>();
  // One GET per pushed group, in the `/groups/{id}` bucket (its own, and large: okta.md §3.1).
  await eachLimited([...ids], deps.concurrency, async (id) => {
    // A 404 here is a group deleted while being read: the read fails (the 'group' hint says so)
    // rather than emptying a team; the next run sees the mapping gone too.
    groups.set(id, (await groupById(deps, id, 'fail')) as AssignedGroup);
  });
  // In mapping order, whatever order the concurrent reads ended in.
  return [...ids].map((id) => groups.get(id) as AssignedGroup);
}

/**
 * One group by id (`GET /api/v1/groups/{id}`, its own rate-limit bucket). Okta's "no such group"
 * is null when `missing` says so, else a read error like any other.
 */
export async function groupById(deps: ReadDeps, id: string, missing: 'null' | 'fail'): Promise<AssignedGroup | null> {
  const op = `GET /api/v1/groups/${id}`;
  let body: unknown;
  try {
    body = await deps.getJson(`/api/v1/groups/${encodeURIComponent(id)}`);
  } catch (err) {
    if (missing === 'null' && isNotFound(err)) return null;
    throw deps.fail(err, op, 'group');
  }
  const g = checkedGroup(body, deps, op, 'the group');
  if (g.id !== id) throw deps.fail(new OktaMalformedError(`the answer is not the group ${id} but the group ${g.id}`), op, 'group');
  return g;
}

/** An Okta group with an id and a name, or a read error: the name decides teams, so it is never guessed. */
function checkedGroup(item: unknown, deps: ReadDeps, op: string, what: string): AssignedGroup {
  if (!hasId(item)) throw deps.fail(new OktaMalformedError(`${what} has no id`), op, 'group');
  const name = groupProfileName(item as GroupWire);
  if (name === null) throw deps.fail(new OktaMalformedError(`${what} (${item.id}) has no profile.name that is a string`), op, 'group');
  return { id: item.id, name };
}

/**
 * A 404 or 403 on the mappings: the org has no Group Push mappings API (an older org, or Group
 * Push not enabled for the app), or the credentials may not read it. Never read as "no mappings":
 * that would remove every member from every pushed team.
 */
export function pushApiError(err: unknown): unknown {
  if (!(err instanceof SourceReadError) || (err.status !== 404 && err.status !== 403)) return err;
  return new SourceReadError(`${err.message}: the Group Push mappings of the Docker app could not be read`, {
    system: 'okta',
    operation: err.operation,
    status: err.status,
    ...(err.remoteCode ? { remoteCode: err.remoteCode } : {}),
    ...(err.remoteMessage ? { remoteMessage: err.remoteMessage } : {}),
    hint:
      'This Okta org has no Group Push mappings API for the app, or the credentials lack okta.apps.read (an OAuth service app must be granted and request it; an API token needs an admin role that can read apps). Use OKTA_TEAM_GROUPS=rule with OKTA_GROUP_RULE set to your Push Groups rule (e.g. startsWith:acme:) instead. Nothing was planned: no mappings would have emptied every pushed team.',
    transient: false,
    cause: err,
  });
}
