import { EmailMatches } from '../email-matches.ts';
import { pages, type PageCounter, type ReadDeps } from './read.ts';
import type { UserWire } from './transform.ts';

/**
 * Entra users by email, for `sync --user` and `explain`: `GET /users?$filter=userPrincipalName eq
 * '…' or mail eq '…'` through the Graph client (User.Read.All, which the reader needs anyway), a
 * few emails a request. Graph compares these properties without regard to case. Whether a user is
 * assigned to the Docker app is not asked here: the scoped read that follows tells that, as it
 * does for the change feed's users.
 */

/** Emails per filter, two clauses each: short filters, since how long a one Graph takes is not in our reference. */
const EMAILS_PER_FILTER = 7;

/** An OData string literal: a quote is doubled, so a value cannot end it and add a clause of its own. */
export function odataString(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

/** The `$filter` that finds the users whose UPN or mail is one of `emails` (not yet URL-encoded). */
export function emailFilter(emails: readonly string[]): string {
  return emails.map((e) => `userPrincipalName eq ${odataString(e)} or mail eq ${odataString(e)}`).join(' or ');
}

/** Lower-cased email → the object ids of the Entra users holding it as UPN or mail. */
export async function findEntraUsers(deps: Pick<ReadDeps, 'api' | 'fail' | 'signal' | 'maxUsers'>, emails: readonly string[], counter: PageCounter): Promise<Map<string, string[]>> {
  const wanted = [...new Set(emails.map((e) => e.trim().toLowerCase()).filter((e) => e !== ''))];
  const found = new EmailMatches();
  for (let i = 0; i < wanted.length; i += EMAILS_PER_FILTER) {
    const chunk = wanted.slice(i, i + EMAILS_PER_FILTER);
    const filter = emailFilter(chunk);
    // The Graph client puts a `$filter` into the URL as it is given: encoded here, so an address
    // with `+`, `&` or `#` in it reaches Graph as written.
    const path = `/users?$filter=${encodeURIComponent(filter)}`;
    const listing = pages(deps, { path, route: 'GET /users?$filter', select: ['id', 'userPrincipalName', 'mail'] }, (n) => `GET /users?$filter=${filter} (page ${n})`, 'read', counter);
    for await (const items of listing) {
      for (const raw of items) {
        const u = (raw ?? {}) as UserWire;
        if (typeof u.id !== 'string' || u.id === '') continue;
        found.add(chunk, u.id, [u.userPrincipalName, u.mail]);
      }
    }
  }
  return found.result();
}
