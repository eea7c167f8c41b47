import { CORE_GROUP, type StoredGroup, type StoredUser, type WireOptions } from './wire.ts';

/**
 * A single group's JSON, as `JSON.stringify(groupJson(…))` writes it, built from each member's
 * text kept between answers. Docker answers a team PATCH with the whole team (an emulator choice
 * where RFC 7644 allows 200 or 204); rendering a 100,000-member default team afresh for each of a
 * first sync's thousand PATCHes made the emulator spend more CPU than the product it measured.
 */
export class GroupText {
  /** Member id → its JSON, and the display (userName) it was rendered with, so a rename re-renders it. */
  private readonly members = new Map<string, { display: string; text: string }>();
  private base = '';

  render(g: StoredGroup, o: WireOptions, users: ReadonlyMap<string, StoredUser>): string {
    if (o.baseUrl !== this.base) {
      this.members.clear();
      this.base = o.baseUrl;
    }
    const parts: string[] = [];
    for (const id of g.members) parts.push(this.member(id, users));
    const head = JSON.stringify({ schemas: [CORE_GROUP], id: g.id, displayName: g.displayName, ...(g.externalId !== null ? { externalId: g.externalId } : {}) });
    const meta = JSON.stringify({ resourceType: 'Group', location: `${o.baseUrl}/Groups/${g.id}`, created: g.created, lastModified: g.lastModified });
    return `${head.slice(0, -1)},"members":[${parts.join(',')}],"meta":${meta}}`;
  }

  private member(id: string, users: ReadonlyMap<string, StoredUser>): string {
    const display = users.get(id)?.userName ?? id;
    const cached = this.members.get(id);
    if (cached && cached.display === display) return cached.text;
    const text = JSON.stringify({ value: id, display, $ref: `${this.base}/Users/${id}` });
    this.members.set(id, { display, text });
    return text;
  }
}
