import type { Logger } from '../../logging/logger.ts';
import { illTypedValue } from '../attributes.ts';
import type { SourceReadError } from '../../model/errors.ts';
import type { TransportObserver } from '../../model/telemetry.ts';
import { PAGE_SIZE, type OktaConnection, type OktaLists, type Pager } from './client.ts';
import { OktaAbortedError, OktaListingTooLongError, OktaMalformedError } from './errors.ts';
import type { TeamGroupConfig } from './team-groups.ts';
import { groupNameOf, type AppUserWire, type GroupAssignmentWire, type UserWire } from './transform.ts';

/**
 * Okta's listings, each an async generator that yields a page at a time and throws on any page
 * that failed (after the executor's retries) or does not look like Okta's: a caller cannot
 * mistake a partial list for a whole one, so a hiccup never makes assigned users look unassigned.
 * Which listings a read makes, and in which order, is read.ts's and team-groups.ts's business.
 */

export interface ReadDeps {
  lists: OktaLists;
  /** Single objects by path, as JSON (client.ts): a pushed group, an app user. */
  getJson: OktaConnection['getJson'];
  appId: string;
  logger: Logger;
  signal: AbortSignal | undefined;
  /** Turns anything thrown while doing `operation` into the SourceReadError the admin sees. */
  fail: (err: unknown, operation: string, subject: 'app' | 'group') => SourceReadError;
  /** Group-member listings read at once; the executor paces them against the groups bucket. */
  concurrency: number;
  /** The most users (or members of one group) a listing may hold; caps its pages (see `pageCap`). */
  maxUsers: number;
  /** Told the running count after each page (Okta announces no total). */
  observer?: TransportObserver;
  /** Where the groups that become teams are found (OKTA_TEAM_GROUPS, OKTA_GROUP_RULE). */
  teamGroups: TeamGroupConfig;
}

export interface PageCounter {
  pages: number;
}

/**
 * The most pages a listing of `pageSize` may take: enough for `maxUsers` items plus one page of
 * slack (an empty last page, the emulator's gotcha-2 page). A listing that goes on is not read to
 * the end of time: Okta, or something posing as it, is looping with ever-new cursors.
 */
export function pageCap(maxUsers: number, pageSize: number): number {
  return Math.ceil(maxUsers / pageSize) + 1;
}

/**
 * Pages through one listing. `describe(n)` names page n for errors, e.g.
 * `GET /api/v1/apps/0oa1/users (page 3)`. A listing that cannot end is an error, never a long
 * wait: a `next` link back to a page already read, a page of nothing but items already read (a
 * fresh cursor over the same records), or more pages than `maxUsers` allows.
 */
export async function* pages(
  open: () => Promise<Pager>,
  describe: (page: number) => string,
  subject: 'app' | 'group',
  deps: Pick<ReadDeps, 'fail' | 'signal' | 'maxUsers'>,
  counter: PageCounter,
  pageSize: number,
): AsyncGenerator<unknown[], void, undefined> {
  let pager: Pager;
  try {
    pager = await open();
  } catch (err) {
    throw deps.fail(err, describe(1), subject);
  }
  const maxPages = pageCap(deps.maxUsers, pageSize);
  const visited = new Set<string>();
  const seen = new Set<string>();
  let page = 0;
  // An empty page that still has a `next` link (gotcha 2) is just an empty page here: paging
  // continues until a page comes without `next`, so nothing is skipped or read twice.
  while (pager.nextUri) {
    page += 1;
    const op = describe(page);
    if (deps.signal?.aborted) throw deps.fail(new OktaAbortedError(), op, subject);
    if (page > maxPages) throw deps.fail(new OktaListingTooLongError(maxPages, pageSize, deps.maxUsers), op, subject);
    // Only the System Log repeats a `next` link (§1.4); here it would loop forever.
    if (visited.has(pager.nextUri)) throw deps.fail(new OktaMalformedError('the next link points back at a page already read'), op, subject);
    visited.add(pager.nextUri);
    let items: unknown;
    try {
      items = await pager.getNextPage();
    } catch (err) {
      throw deps.fail(err, op, subject);
    }
    if (!Array.isArray(items)) throw deps.fail(new OktaMalformedError('the page is not a JSON array'), op, subject);
    // Okta's cursor paging never serves a record twice. A page of only records already read is a
    // listing going round in circles under fresh cursors; a partly repeated page still makes
    // progress, and the page cap bounds it.
    const ids = items.filter(hasId).map((x) => x.id);
    if (ids.length > 0 && ids.length === items.length && ids.every((id) => seen.has(id))) {
      throw deps.fail(new OktaMalformedError(`every item on the page was already read on an earlier page (a next link that starts the listing over)`), op, subject);
    }
    for (const id of ids) seen.add(id);
    counter.pages += 1;
    yield items;
  }
}

export function hasId(item: unknown): item is { id: string } {
  return item !== null && typeof item === 'object' && typeof (item as { id?: unknown }).id === 'string' && (item as { id: string }).id !== '';
}

/** Every AppUser of the app, page by page. */
export async function* appUsers(deps: ReadDeps, counter: PageCounter): AsyncGenerator<AppUserWire[], void, undefined> {
  const path = `GET /api/v1/apps/${deps.appId}/users`;
  let page = 0;
  for await (const items of pages(() => deps.lists.appUsers(deps.appId), (n) => `${path} (page ${n})`, 'app', deps, counter, PAGE_SIZE.appUsers)) {
    page += 1;
    const bad = items.findIndex((x) => !hasId(x));
    if (bad >= 0) throw deps.fail(new OktaMalformedError(`item ${bad + 1} has no id`), `${path} (page ${page})`, 'app');
    yield items as AppUserWire[];
  }
}

export interface AssignedGroup {
  id: string;
  name: string;
}

/** Every group assigned to the app, with its name (needs `expand=group`). */
export async function* appGroups(deps: ReadDeps, counter: PageCounter): AsyncGenerator<AssignedGroup[], void, undefined> {
  const path = `GET /api/v1/apps/${deps.appId}/groups`;
  let page = 0;
  for await (const items of pages(() => deps.lists.appGroups(deps.appId), (n) => `${path} (page ${n})`, 'app', deps, counter, PAGE_SIZE.appGroups)) {
    page += 1;
    const out: AssignedGroup[] = [];
    for (const [i, item] of items.entries()) {
      if (!hasId(item)) throw deps.fail(new OktaMalformedError(`group assignment ${i + 1} has no id`), `${path} (page ${page})`, 'app');
      // The name decides teams: one that is missing or not a string stops the read rather than
      // being guessed at (a number turned into text could name a real org:team).
      const name = groupNameOf(item as GroupAssignmentWire);
      if (name === null) {
        const raw = (item as GroupAssignmentWire)._embedded?.group?.profile?.name;
        const what = raw === undefined || raw === null || raw === '' ? 'no embedded group name' : `a group name that is not a string but ${illTypedValue('name', raw, 'a string').value}`;
        throw deps.fail(new OktaMalformedError(`group assignment ${i + 1} (${item.id}) has ${what}`), `${path} (page ${page})`, 'app');
      }
      out.push({ id: item.id, name });
    }
    yield out;
  }
}

/** The direct members of one group. */
export async function* groupMembers(deps: ReadDeps, group: AssignedGroup, counter: PageCounter): AsyncGenerator<UserWire[], void, undefined> {
  const path = `GET /api/v1/groups/${group.id}/users`;
  const describe = (n: number) => `${path} (page ${n}, group "${group.name}")`;
  let page = 0;
  for await (const items of pages(() => deps.lists.groupUsers(group.id), describe, 'group', deps, counter, PAGE_SIZE.groupUsers)) {
    page += 1;
    const bad = items.findIndex((x) => !hasId(x));
    if (bad >= 0) throw deps.fail(new OktaMalformedError(`member ${bad + 1} has no id`), describe(page), 'group');
    yield items as UserWire[];
  }
}
