/**
 * One copy of each value that repeats from row to row of the links table. At 100,000 links, the
 * role, organization, team, teams and origin of every row are a handful of distinct values, yet
 * JSON.parse makes a new string or array of each for every row: about 20 MB held through planning,
 * the peak of a full run's memory. Names and ids are left alone: they rarely repeat.
 */
export class SharedValues {
  private readonly strings = new Map<string, string>();
  private readonly lists = new Map<string, readonly string[]>();

  /** Distinct values kept at most, per kind: past it, values are used as they come. */
  private static readonly LIMIT = 10_000;

  string<T extends string | null>(value: T): T {
    if (value === null) return value;
    const kept = this.strings.get(value);
    if (kept !== undefined) return kept as T;
    if (this.strings.size < SharedValues.LIMIT) this.strings.set(value, value);
    return value;
  }

  /** The same list for every row that has these values in this order; shared, so never changed (it is readonly). */
  list(values: readonly string[]): readonly string[] {
    if (values.length === 0) return EMPTY;
    const key = values.join('\u0000');
    const kept = this.lists.get(key);
    if (kept !== undefined) return kept;
    const list = values.map((v) => this.string(v));
    if (this.lists.size < SharedValues.LIMIT) this.lists.set(key, list);
    return list;
  }
}

const EMPTY: readonly string[] = Object.freeze([]);
