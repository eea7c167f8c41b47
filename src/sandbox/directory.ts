/**
 * The identity provider's truth for the emulators, independent of any IdP's wire format. Tests and
 * the demo change people and groups here; the Okta and Graph emulators serve views of it. One
 * directory can back either emulator, which is how one scenario suite runs against both sources.
 */

export type AttrValue = string | readonly string[] | null;

export interface DockerAttributes {
  dockerRole?: AttrValue;
  dockerOrg?: AttrValue;
  dockerTeam?: AttrValue;
}

export interface DirectoryUser {
  readonly id: string;
  /** The login and primary email (Okta login/email; Entra userPrincipalName and mail unless overridden). */
  email: string | null;
  givenName: string | null;
  familyName: string | null;
  /** The account itself is active (Okta user ACTIVE, Entra accountEnabled). */
  enabled: boolean;
  /** Directly assigned to the Docker app. Members of an assigned group are assigned through it. */
  assigned: boolean;
  attributes: DockerAttributes;
  /** Entra-only details; absent means "like email". */
  entra?: { userPrincipalName?: string; mail?: string | null };
}

export interface DirectoryGroup {
  readonly id: string;
  name: string;
  /** Direct user members. */
  readonly members: Set<string>;
  /** Direct group members (nesting exists in Entra only). */
  readonly groupMembers: Set<string>;
  /** Assigned to the Docker app. */
  assigned: boolean;
  /**
   * Entra only: the app role value the group's assignment grants (e.g. "editor"); null for
   * default access. Okta has no such thing and ignores it.
   */
  appRole: string | null;
  /**
   * Okta only: the status of the Docker app's Group Push mapping for this group (Okta's Push
   * Groups), or null / absent when the group is not pushed. Set it with `setGroupPush`, which
   * records when it changed (the mappings' `lastUpdated`).
   */
  pushed?: 'ACTIVE' | 'ERROR' | 'INACTIVE' | null;
  /** When `pushed` last changed, in ms since the epoch; absent: long ago. */
  pushUpdated?: number;
}

/**
 * One change to the directory, as the emulators' change feeds (Okta's System Log, Graph delta
 * queries) serve it. Recorded by every method below that changes something; a test that assigns a
 * field directly changes the directory without a record, as a missed event would.
 */
export type DirectoryChange =
  | { readonly seq: number; readonly at: number; readonly kind: 'user-added' | 'user-removed'; readonly userId: string }
  /** `fields`: which of the user's fields changed: `assigned`, `enabled`, `email`, `givenName`, `familyName`, `attributes`, `entra`. */
  | { readonly seq: number; readonly at: number; readonly kind: 'user-changed'; readonly userId: string; readonly fields: readonly string[] }
  | { readonly seq: number; readonly at: number; readonly kind: 'member-added' | 'member-removed'; readonly groupId: string; readonly userId: string }
  | { readonly seq: number; readonly at: number; readonly kind: 'group-added' | 'group-assignment' | 'group-nested' | 'group-renamed' | 'group-push'; readonly groupId: string };

type ChangeBody = DirectoryChange extends infer C ? (C extends DirectoryChange ? Omit<C, 'seq' | 'at'> : never) : never;

export interface NewUser {
  id?: string;
  email: string | null;
  givenName?: string | null;
  familyName?: string | null;
  enabled?: boolean;
  assigned?: boolean;
  attributes?: DockerAttributes;
  entra?: DirectoryUser['entra'];
}

export class Directory {
  readonly users = new Map<string, DirectoryUser>();
  readonly groups = new Map<string, DirectoryGroup>();
  /** Bumped on every change, so emulators can tell a directory changed (ETags, deltas). */
  version = 0;
  /** Every change since the directory was made, oldest first; `seq` is the version it produced. */
  readonly changes: DirectoryChange[] = [];
  /** When a change happened, in ms since the epoch; tests may set it to make time stand still or jump. */
  now: () => number = () => Date.now();
  private nextId = 1;
  /**
   * Lower-cased email → id of the first user holding it, built on the first lookup by email. Emails
   * can change behind its back (updateUser, or a test assigning `email`), so a hit is checked against
   * the user and a miss or a stale hit rebuilds it: a lookup stays correct, and costs a scan only
   * after a change, not on every call (100,000 users).
   */
  private emailIndex: Map<string, string> | null = null;

  /** Deterministic, UUID-shaped ids: opaque to the product, stable across runs of a test. */
  newId(): string {
    const n = this.nextId++;
    return `00000000-0000-4000-8000-${n.toString(16).padStart(12, '0')}`;
  }

  addUser(u: NewUser): DirectoryUser {
    const user: DirectoryUser = {
      id: u.id ?? this.newId(),
      email: u.email,
      givenName: u.givenName ?? null,
      familyName: u.familyName ?? null,
      enabled: u.enabled ?? true,
      assigned: u.assigned ?? true,
      attributes: { ...(u.attributes ?? {}) },
      ...(u.entra ? { entra: { ...u.entra } } : {}),
    };
    if (this.users.has(user.id)) throw new Error(`duplicate directory user id ${user.id}`);
    this.users.set(user.id, user);
    const key = user.email?.toLowerCase();
    if (this.emailIndex && key !== undefined && !this.emailIndex.has(key)) this.emailIndex.set(key, user.id);
    this.record({ kind: 'user-added', userId: user.id });
    return user;
  }

  /** Changes after version `seq`, oldest first. */
  changesSince(seq: number): DirectoryChange[] {
    // By seq, not by position: `version` may be raised without a record (the bench's generator
    // does, for a bulk load), so seq and index part ways. Seqs only grow: a binary search.
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.changes[mid] as DirectoryChange).seq <= seq) lo = mid + 1;
      else hi = mid;
    }
    return this.changes.slice(lo);
  }

  private record(change: ChangeBody): void {
    this.version++;
    this.changes.push({ ...change, seq: this.version, at: this.now() } as DirectoryChange);
  }

  user(idOrEmail: string): DirectoryUser {
    const byId = this.users.get(idOrEmail);
    if (byId) return byId;
    const u = this.byEmail(idOrEmail.toLowerCase());
    if (u) return u;
    throw new Error(`no directory user ${idOrEmail}`);
  }

  private byEmail(lower: string): DirectoryUser | undefined {
    const cached = this.emailIndex?.get(lower);
    const hit = cached === undefined ? undefined : this.users.get(cached);
    if (hit && hit.email?.toLowerCase() === lower) return hit;
    const index = new Map<string, string>();
    for (const u of this.users.values()) {
      const key = u.email?.toLowerCase();
      if (key !== undefined && !index.has(key)) index.set(key, u.id);
    }
    this.emailIndex = index;
    const id = index.get(lower);
    return id === undefined ? undefined : this.users.get(id);
  }

  updateUser(idOrEmail: string, patch: Partial<Omit<DirectoryUser, 'id'>>): DirectoryUser {
    const u = this.user(idOrEmail);
    Object.assign(u, patch);
    if (patch.attributes) u.attributes = { ...patch.attributes };
    this.record({ kind: 'user-changed', userId: u.id, fields: Object.keys(patch).sort() });
    return u;
  }

  setAttribute(idOrEmail: string, name: keyof DockerAttributes, value: AttrValue | undefined): void {
    const u = this.user(idOrEmail);
    if (value === undefined) delete u.attributes[name];
    else u.attributes[name] = value;
    this.record({ kind: 'user-changed', userId: u.id, fields: ['attributes'] });
  }

  removeUser(idOrEmail: string): void {
    const u = this.user(idOrEmail);
    this.users.delete(u.id);
    for (const g of this.groups.values()) g.members.delete(u.id);
    this.record({ kind: 'user-removed', userId: u.id });
  }

  addGroup(name: string, opts: { assigned?: boolean; id?: string; appRole?: string | null; pushed?: DirectoryGroup['pushed'] } = {}): DirectoryGroup {
    const g: DirectoryGroup = {
      id: opts.id ?? this.newId(),
      name,
      members: new Set(),
      groupMembers: new Set(),
      assigned: opts.assigned ?? true,
      appRole: opts.appRole ?? null,
      ...(opts.pushed ? { pushed: opts.pushed, pushUpdated: this.now() } : {}),
    };
    this.groups.set(g.id, g);
    this.record({ kind: 'group-added', groupId: g.id });
    return g;
  }

  group(idOrName: string): DirectoryGroup {
    const byId = this.groups.get(idOrName);
    if (byId) return byId;
    for (const g of this.groups.values()) if (g.name === idOrName) return g;
    throw new Error(`no directory group ${idOrName}`);
  }

  addMember(group: string, userIdOrEmail: string): void {
    const g = this.group(group);
    const id = this.user(userIdOrEmail).id;
    g.members.add(id);
    this.record({ kind: 'member-added', groupId: g.id, userId: id });
  }

  removeMember(group: string, userIdOrEmail: string): void {
    const g = this.group(group);
    const id = this.user(userIdOrEmail).id;
    g.members.delete(id);
    this.record({ kind: 'member-removed', groupId: g.id, userId: id });
  }

  nestGroup(parent: string, child: string): void {
    const g = this.group(parent);
    g.groupMembers.add(this.group(child).id);
    this.record({ kind: 'group-nested', groupId: g.id });
  }

  /** Renames a group (Okta `group.profile.update`). */
  renameGroup(idOrName: string, name: string): DirectoryGroup {
    const g = this.group(idOrName);
    g.name = name;
    this.record({ kind: 'group-renamed', groupId: g.id });
    return g;
  }

  /** Okta only: pushes the group to the Docker app with this mapping status, or stops pushing it (null). */
  setGroupPush(group: string, status: DirectoryGroup['pushed']): void {
    const g = this.group(group);
    g.pushed = status ?? null;
    g.pushUpdated = this.now();
    this.record({ kind: 'group-push', groupId: g.id });
  }

  setGroupAssigned(group: string, assigned: boolean): void {
    const g = this.group(group);
    g.assigned = assigned;
    this.record({ kind: 'group-assignment', groupId: g.id });
  }

  /** Assigned groups in insertion order. */
  assignedGroups(): DirectoryGroup[] {
    return [...this.groups.values()].filter((g) => g.assigned);
  }

  /**
   * Users assigned to the app: directly, or as a direct member of an assigned group. Nested members
   * are not assigned (Entra's own semantics; Okta has no nesting). Sorted by id for stable paging.
   */
  assignedUsers(): DirectoryUser[] {
    const ids = new Set<string>();
    for (const u of this.users.values()) if (u.assigned) ids.add(u.id);
    for (const g of this.assignedGroups()) for (const m of g.members) ids.add(m);
    return [...ids]
      .sort()
      .map((id) => this.users.get(id))
      .filter((u): u is DirectoryUser => u !== undefined);
  }

  /** Direct members of a group, optionally with the members of nested groups. */
  membersOf(group: string, transitive = false): DirectoryUser[] {
    const g = this.group(group);
    const ids = new Set(g.members);
    if (transitive) {
      const seen = new Set<string>([g.id]);
      const stack = [...g.groupMembers];
      while (stack.length) {
        const gid = stack.pop() as string;
        if (seen.has(gid)) continue;
        seen.add(gid);
        const child = this.groups.get(gid);
        if (!child) continue;
        for (const m of child.members) ids.add(m);
        stack.push(...child.groupMembers);
      }
    }
    return [...ids]
      .sort()
      .map((id) => this.users.get(id))
      .filter((u): u is DirectoryUser => u !== undefined);
  }
}
