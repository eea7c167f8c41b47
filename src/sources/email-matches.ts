/**
 * Users found by email (`sync --user`, `explain`), gathered the same way for every IdP: only an
 * exact match, without regard to case, counts. An answer with more in it than was asked for (a
 * search that also matches on prefix, a proxy) must not put someone else's account in the run.
 */
export class EmailMatches {
  /** Lower-cased email → the ids of the IdP users holding it. */
  private readonly found = new Map<string, string[]>();

  /** `values`: the user's addresses (login, email, UPN, mail), of which those in `asked` count. */
  add(asked: readonly string[], id: string, values: readonly unknown[]): void {
    for (const value of values) {
      if (typeof value !== 'string') continue;
      const key = value.toLowerCase();
      if (!asked.includes(key)) continue;
      const ids = this.found.get(key) ?? [];
      if (!ids.includes(id)) ids.push(id);
      this.found.set(key, ids);
    }
  }

  /** Each email's ids, sorted, so the same directory gives the same answer. */
  result(): Map<string, string[]> {
    for (const ids of this.found.values()) ids.sort();
    return this.found;
  }
}
