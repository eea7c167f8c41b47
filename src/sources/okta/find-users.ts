import { EmailMatches } from '../email-matches.ts';
import { PAGE_SIZE } from './client.ts';
import { OktaMalformedError } from './errors.ts';
import { hasId, pages, type PageCounter, type ReadDeps } from './listing.ts';
import { searchString, type UserWire } from './transform.ts';

/**
 * Okta users by email, for `sync --user` and `explain`: `GET /api/v1/users?search=profile.login eq
 * "…" or profile.email eq "…"` through the SDK (Okta's search compares string values without regard
 * to case, and returns deactivated users too), a few emails a request. Whether a user is assigned
 * to the Docker app is not asked here: the scoped read that follows tells that, as it does for the
 * change feed's users.
 */

/** Emails per search: a short expression (Okta refuses "an overly complex or long search query"). */
const EMAILS_PER_SEARCH = 10;

/** The expression that finds the Okta users whose login or email is one of `emails`. */
export function emailSearch(emails: readonly string[]): string {
  return emails.map((e) => `profile.login eq ${searchString(e)} or profile.email eq ${searchString(e)}`).join(' or ');
}

/** Lower-cased email → the ids of the Okta users holding it as login or email. */
export async function findOktaUsers(deps: Pick<ReadDeps, 'lists' | 'fail' | 'signal' | 'maxUsers'>, emails: readonly string[], counter: PageCounter): Promise<Map<string, string[]>> {
  const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e !== ''))];
  const found = new EmailMatches();
  for (let i = 0; i < wanted.length; i += EMAILS_PER_SEARCH) {
    const chunk = wanted.slice(i, i + EMAILS_PER_SEARCH);
    const search = emailSearch(chunk);
    const op = (n: number) => `GET /api/v1/users?search=${search} (page ${n})`;
    let page = 0;
    for await (const items of pages(() => deps.lists.users(search), op, 'app', deps, counter, PAGE_SIZE.users)) {
      page += 1;
      for (const [j, item] of items.entries()) {
        if (!hasId(item)) throw deps.fail(new OktaMalformedError(`user ${j + 1} has no id`), op(page), 'app');
        const profile = (item as UserWire).profile ?? {};
        found.add(chunk, item.id, [profile['login'], profile['email']]);
      }
    }
  }
  return found.result();
}
