/**
 * A team's members as a PATCH sees them while it validates its operations: the stored set plus the
 * changes so far, applied to the set only once every operation passed (a rejected PATCH changes
 * nothing). Copying the set instead made each PATCH to a 100,000-member default team cost 100,000
 * set insertions, which made the emulator, not the product, the bottleneck of a large first sync.
 */
export class MemberDraft {
  private readonly base: ReadonlySet<string>;
  private cleared = false;
  /** Member id → present after the PATCH, in the order the changes were made. */
  private readonly changes = new Map<string, boolean>();

  constructor(base: ReadonlySet<string>) {
    this.base = base;
  }

  has(id: string): boolean {
    const changed = this.changes.get(id);
    if (changed !== undefined) return changed;
    return !this.cleared && this.base.has(id);
  }

  /** Adding a present member keeps its place; a removed and re-added one goes last, as in a Set. */
  add(id: string): void {
    if (this.has(id)) return;
    this.changes.delete(id);
    this.changes.set(id, true);
  }

  delete(id: string): void {
    if (!this.has(id)) return;
    this.changes.delete(id);
    this.changes.set(id, false);
  }

  clear(): void {
    this.cleared = true;
    this.changes.clear();
  }

  /** The members now (order unspecified), for a remove by value filter. */
  current(): string[] {
    const out: string[] = [];
    if (!this.cleared) for (const m of this.base) if (!this.changes.has(m)) out.push(m);
    for (const [m, present] of this.changes) if (present) out.push(m);
    return out;
  }

  /** Writes the result into the stored set. */
  commit(target: Set<string>): void {
    if (this.cleared) target.clear();
    for (const [m, present] of this.changes) {
      target.delete(m);
      if (present) target.add(m);
    }
  }
}
