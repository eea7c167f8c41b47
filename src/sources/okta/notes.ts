import type { SourceNote } from '../../model/idp.ts';

/**
 * The notes a read makes about group members who are not users of the Docker app. Two kinds, for
 * two different situations:
 * - a member of a group ASSIGNED to the app should have the app through it; if they do not yet,
 *   Okta is usually still applying the assignment, and each such person is worth a line of their
 *   own (GROUP_MEMBER_NOT_ASSIGNED);
 * - a member of a group found by name rule or Group Push is expected not to have the app when
 *   nobody assigned it: the app assignment decides who exists, groups decide teams (Docker's
 *   Okta guide, and Okta's "a group used for Group Push should not also assign the app"). One
 *   counted line per group (GROUP_MEMBERS_NOT_ASSIGNED) says so without burying the report.
 */

/** A member of org:team groups who is not a user of the app: their label (login, email or id) and those groups' names. */
export interface Stray {
  label: string;
  groups: string[];
}

/**
 * The GROUP_MEMBER_NOT_ASSIGNED notes, in a fixed order whatever order the concurrent listings
 * ended in: by the first group (in `teamGroups` order), then by label. The change feed's scoped
 * read makes the same notes for the users it reads.
 */
export function strayNotes(strays: Iterable<Stray>, teamGroups: readonly { name: string }[]): SourceNote[] {
  const order = new Map(teamGroups.map((g, i) => [g.name, i]));
  const rank = (name: string) => order.get(name) ?? 0;
  return [...strays]
    .map((s) => ({ label: s.label, groups: s.groups.sort((a, b) => rank(a) - rank(b)) }))
    .sort((a, b) => rank(a.groups[0] as string) - rank(b.groups[0] as string) || (a.label < b.label ? -1 : a.label > b.label ? 1 : 0))
    .map((s) => ({
      code: 'GROUP_MEMBER_NOT_ASSIGNED',
      subject: s.label,
      message: `member of Okta group${s.groups.length > 1 ? 's' : ''} ${s.groups.join(', ')} but not a user of the Docker app in Okta, so not synced (Okta may still be applying the group assignment)`,
    }));
}

/** Per group found by rule or push: how many of its members are not app users, of how many read. */
export interface GroupStrays {
  readonly name: string;
  readonly strays: number;
  /** Every direct member read (a full read); null when only some members were read (an incremental run). */
  readonly members: number | null;
}

/** One GROUP_MEMBERS_NOT_ASSIGNED note per group that has such members, in the order given. */
export function groupStrayNotes(groups: readonly GroupStrays[]): SourceNote[] {
  return groups
    .filter((g) => g.strays > 0)
    .map((g) => {
      const who =
        g.members === null
          ? `${g.strays} member${g.strays === 1 ? '' : 's'} of Okta group ${g.name} read by this incremental run ${g.strays === 1 ? 'is' : 'are'}`
          : `${g.strays} of ${g.members} member${g.members === 1 ? '' : 's'} of Okta group ${g.name} ${g.strays === 1 ? 'is' : 'are'}`;
      return {
        code: 'GROUP_MEMBERS_NOT_ASSIGNED',
        subject: g.name,
        message: `${who} not assigned to the Docker app, so they are not provisioned (the app assignment decides who exists; groups decide teams)`,
      };
    });
}
