import type { DirectoryGroup } from '../directory.ts';
import { parseExpression, type Grammar, type Predicate } from './expression.ts';

/**
 * `GET /api/v1/groups?search=…` (SDK 8.1.0 `GroupApiListGroupsRequest.search`): `sw`, `eq` and
 * `co`, with `co` only on `profile.name` and `profile.description`, joined with `and` / `or`. The
 * emulated attributes are the group's name, description (always empty here), id and type (every
 * Directory group is an OKTA_GROUP). Comparisons ignore case, as Okta's search does for names
 * [I: not in okta.md]; the reader applies the rule itself as well, so nothing hinges on it.
 */

const lower = (s: string) => s.toLowerCase();

const GRAMMAR: Grammar<DirectoryGroup> = {
  attributes: {
    'profile.name': (g) => [g.name],
    'profile.description': () => [''],
    id: (g) => [g.id],
    type: () => ['OKTA_GROUP'],
  },
  operators: {
    eq: (v, w) => lower(v) === lower(w),
    sw: (v, w) => lower(v).startsWith(lower(w)),
    co: (v, w) => lower(v).includes(lower(w)),
  },
  refuse: (attribute, operator) =>
    operator === 'co' && attribute !== 'profile.name' && attribute !== 'profile.description' ? `co is supported only on profile.name and profile.description, not ${attribute}` : null,
};

/** The groups a search selects; throws ExpressionError (a 400) for one Okta would refuse. */
export function parseGroupSearch(text: string): Predicate<DirectoryGroup> {
  return parseExpression(text, GRAMMAR);
}
