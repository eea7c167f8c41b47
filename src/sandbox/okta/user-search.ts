import type { DirectoryUser } from '../directory.ts';
import { parseExpression, type Grammar, type Predicate } from './expression.ts';

/**
 * `GET /api/v1/users?search=…` (SDK 8.1.0 `UserApiListUsersRequest.search`): `eq`, `sw` and `co`,
 * with `co` only on `profile.firstName`, `profile.lastName`, `profile.email` and `profile.login`,
 * joined with `and` / `or`. String values compare without regard to case, as Okta documents for
 * this search. The emulated attributes are the ones an Okta user's JSON carries here (wire.ts
 * userJson): id, status, login, email and names.
 */

const lower = (s: string) => s.toLowerCase();
const text = (v: string | null): string[] => (v === null ? [] : [v]);

const CONTAINS = new Set(['profile.firstname', 'profile.lastname', 'profile.email', 'profile.login']);

const GRAMMAR: Grammar<DirectoryUser> = {
  attributes: {
    id: (u) => [u.id],
    status: (u) => [u.enabled ? 'ACTIVE' : 'DEPROVISIONED'],
    'profile.login': (u) => text(u.email),
    'profile.email': (u) => text(u.email),
    'profile.firstname': (u) => text(u.givenName),
    'profile.lastname': (u) => text(u.familyName),
  },
  operators: {
    eq: (v, w) => lower(v) === lower(w),
    sw: (v, w) => lower(v).startsWith(lower(w)),
    co: (v, w) => lower(v).includes(lower(w)),
  },
  refuse: (attribute, operator) => (operator === 'co' && !CONTAINS.has(attribute) ? `co is supported only on profile.firstName, profile.lastName, profile.email and profile.login, not ${attribute}` : null),
};

/** The users a search selects; throws ExpressionError (a 400) for one Okta would refuse. */
export function parseUserSearch(text: string): Predicate<DirectoryUser> {
  return parseExpression(text, GRAMMAR);
}
