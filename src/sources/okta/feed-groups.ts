import { pages, type PageCounter, type ReadDeps } from './listing.ts';
import { findTeamGroups, groupById, pushApiError, type FoundGroup } from './team-groups.ts';
import { matchesRule, type PushMappingWire } from './transform.ts';

/**
 * What group events, and Group Push changes, mean for an incremental run (feed.ts). The System Log
 * names groups by id; which of them matter is only known from the groups themselves:
 * - membership of a group assigned to the app gives or takes the app, and of a team group a team;
 * - a team group renamed (or an assigned one) may change every member's team: a full read;
 * - under a name rule, a group created or renamed to a name the rule matches is a new team: a full read;
 * - under Group Push, a mapping added, switched or removed changes which groups are teams. The log
 *   has no event for it the feed could rely on, so each incremental run asks the mappings API for
 *   mappings updated since the cursor's time, and any answer means a full read. A deleted mapping
 *   leaves nothing to list: its team is seen at the next full run (stale, never emptied early).
 *   The cursor's time is a minute early (feed.ts START_OVERLAP_MS, for clock skew), so a mapping
 *   changed just before a full run can make the next incremental run full as well: one read more,
 *   never one less.
 *
 * Request cost per incremental run, on top of the log: push mode, one mappings request (one item)
 * in the `/apps` bucket, every run; when the log holds membership or group events, the team-group
 * listings of team-groups.ts (plus the app's groups when OKTA_TEAM_GROUPS leaves them out, since
 * they still give the app); under a rule, one `GET /groups/{id}` per group created or renamed whose
 * name the event and the search did not settle, at most MAX_GROUP_LOOKUPS.
 */

/** Beyond this many groups to look up one by one, a full read is cheaper and surer. */
export const MAX_GROUP_LOOKUPS = 10;

export interface GroupsThatMatter {
  /** The team groups, as the configured sources find them (what `readUsers` needs). */
  readonly teams: FoundGroup[];
  /** Those, and every group assigned to the app: a membership change of any of them matters. */
  readonly byId: ReadonlyMap<string, FoundGroup>;
}

export async function groupsThatMatter(deps: ReadDeps, counter: PageCounter): Promise<GroupsThatMatter> {
  const { sources, rule } = deps.teamGroups;
  // Assigned groups give the app whatever OKTA_TEAM_GROUPS says: their membership events count.
  const all = await findTeamGroups({ ...deps, teamGroups: { sources: [...new Set(['assigned' as const, ...sources])], rule } }, counter);
  const teams = all.flatMap((g) => {
    const via = g.via.filter((v) => sources.includes(v));
    return via.length > 0 ? [{ ...g, via }] : [];
  });
  return { teams, byId: new Map(all.map((g) => [g.id, g])) };
}

/** The reason a changed group needs a full read, for the first one that matters; null if none does. */
export function changedGroupReason(changed: readonly { groupId: string; name: string }[], groups: GroupsThatMatter): string | null {
  for (const c of changed) {
    const g = groups.byId.get(c.groupId);
    if (!g) continue;
    const how = g.via.includes('assigned') ? 'assigned to the Docker app' : `a team group (found by ${g.via.join(' and ')})`;
    return `Okta group "${c.name}", ${how}, was changed (renamed?), which may change every member's team`;
  }
  return null;
}

export interface GroupEvent {
  readonly groupId: string | null;
  readonly name: string | null;
  readonly what: 'created' | 'changed';
}

/**
 * Under a name rule: the reason a group created or renamed needs a full read, when its name now
 * matches the rule; null otherwise. The event's name settles it when it matches; a group the search
 * did not return and whose event name does not match is looked up, because Okta's search is
 * eventually consistent and the event may carry the name before the change.
 */
export async function ruleMatchReason(events: readonly GroupEvent[], groups: GroupsThatMatter, deps: ReadDeps): Promise<string | null> {
  const rule = deps.teamGroups.rule;
  if (rule === null) return null;
  const toLookUp = new Set<string>();
  for (const e of events) {
    if (e.groupId === null) return `an Okta group was ${e.what}, and the System Log event names no group to check against OKTA_GROUP_RULE`;
    // The search's name first (it is today's), then the event's.
    const known = groups.byId.get(e.groupId)?.name;
    for (const name of [known, e.name]) if (name != null && matchesRule(name, rule)) return matchReason(name, e.what);
    if (known === undefined) toLookUp.add(e.groupId);
  }
  if (toLookUp.size > MAX_GROUP_LOOKUPS) return `more than ${MAX_GROUP_LOOKUPS} Okta groups were created or renamed since the last run: a full read is surer than looking each up for OKTA_GROUP_RULE`;
  for (const id of toLookUp) {
    const name = await currentName(deps, id);
    if (name !== null && matchesRule(name, rule)) return matchReason(name, 'changed');
  }
  return null;
}

function matchReason(name: string, what: 'created' | 'changed'): string {
  return `Okta group "${name}" was ${what === 'created' ? 'created' : 'renamed or changed'} and matches OKTA_GROUP_RULE, so it is a team whose members must be read`;
}

/** The group's name now; null when Okta no longer has it (its deletion has an event of its own). */
async function currentName(deps: ReadDeps, id: string): Promise<string | null> {
  return (await groupById(deps, id, 'null'))?.name ?? null;
}

/** `YYYY-MM-DDTHH:mm:ssZ`, the only form the mappings API documents; rounded down, so nothing is missed. */
export function mappingTime(iso: string): string {
  return new Date(Math.floor(Date.parse(iso) / 1000) * 1000).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/**
 * Push mode: the reason for a full read when any Group Push mapping of the app was updated on or
 * after `since`; null when none was. One request, one item: whatever changed, the run reads all.
 * A 404 or 403 is the read error team-groups.ts gives a full read, never "no changes".
 */
export async function pushMappingsReason(deps: ReadDeps, since: string | undefined, counter: PageCounter): Promise<string | null> {
  if (since === undefined) return 'the change-feed cursor does not say when it was taken, so changes to the Group Push mappings cannot be asked for';
  const lastUpdated = mappingTime(since);
  const path = `GET /api/v1/apps/${deps.appId}/group-push/mappings?lastUpdated=${lastUpdated}`;
  try {
    for await (const items of pages(() => deps.lists.pushMappings(deps.appId, { lastUpdated, limit: 1 }), () => path, 'app', deps, counter, 1)) {
      const m = items[0] as PushMappingWire | undefined;
      if (m === undefined) continue;
      const group = typeof m.sourceGroupId === 'string' ? ` of group ${m.sourceGroupId}` : '';
      const status = typeof m.status === 'string' ? ` (now ${m.status})` : '';
      return `a Group Push mapping${group} of the Docker app changed since the last run${status}, which changes which groups are teams`;
    }
  } catch (err) {
    throw pushApiError(err);
  }
  return null;
}
