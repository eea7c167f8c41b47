/**
 * Docker's side of the world for the emulator: SCIM users, org:team groups, organizations and
 * seats, with the rules the reference documents or infers (docker-scim.md §3, §5, §6, §9). Every
 * write validates first and mutates last, so a rejected request leaves nothing half-applied.
 */
import { randomInt, randomUUID } from 'node:crypto';
import { parseFilter, matches, FilterError, type FilterNode } from './filter.ts';
import { MemberDraft } from './member-draft.ts';
import { CORE_GROUP, CORE_USER, DOCKER_EXT, PATCH_OP, ScimError, type StoredGroup, type StoredUser } from './wire.ts';

export interface DockerOrgConfig {
  name: string;
  /** Maximum active users whose org is this one. */
  seatLimit?: number;
}

export interface StoreConfig {
  orgs: readonly DockerOrgConfig[];
  defaultOrg: string;
  defaultTeam: string | null;
  seatErrorStatus: number;
  /**
   * Whether a PUT may change userName. Docker documents no userName on PUT (reference §3.4, a gap):
   * the emulator allows it by default and can be told to refuse, as a real tenant might.
   */
  allowRename: boolean;
  /**
   * The email domains verified on the SSO connection (`acme.com`, `*.acme.com` for subdomains); null:
   * every domain. Docker says members of other domains "stay outside SCIM"; what its API answers a
   * write for one is undocumented (a gap), so the emulator refuses it with `domainErrorStatus`.
   */
  verifiedDomains?: readonly string[] | null;
  /** Default 403. */
  domainErrorStatus?: number;
}

const ROLES: ReadonlySet<string> = new Set(['member', 'editor', 'owner']);

/** Where the Docker extension puts a user: role, organization, and the team it names. */
interface Placement {
  role: string;
  org: string;
  team: string | null;
}

type Json = Record<string, unknown>;

function now(): string {
  return new Date().toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function isObject(v: unknown): v is Json {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** SCIM attribute names and schema URNs are case-insensitive (RFC 7643 §2.1). */
export function getCI(obj: Json, key: string): unknown {
  const lower = key.toLowerCase();
  for (const [k, v] of Object.entries(obj)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function hasCI(obj: Json, key: string): boolean {
  const lower = key.toLowerCase();
  return Object.keys(obj).some((k) => k.toLowerCase() === lower);
}

function requireSchema(body: Json, urn: string): void {
  const schemas = getCI(body, 'schemas');
  if (!Array.isArray(schemas) || !schemas.some((s) => typeof s === 'string' && s.toLowerCase() === urn.toLowerCase())) {
    throw new ScimError(400, `"schemas" must list ${urn}`, 'invalidSyntax');
  }
}

/** An unset extension value: absent, null or empty. */
function optionalString(v: unknown, field: string): string | null {
  if (v === undefined || v === null || v === '') return null;
  if (typeof v !== 'string') throw new ScimError(400, `${field} must be a string`, 'invalidValue');
  return v;
}

function requireBoolean(v: unknown, field: string): boolean {
  if (typeof v !== 'boolean') throw new ScimError(400, `${field} must be a boolean`, 'invalidValue');
  return v;
}

function checkUserName(v: unknown): string {
  // Docker: "The user's email address. This must be reachable via email."
  if (typeof v !== 'string' || !/^[^\s@]+@[^\s@]+$/.test(v)) throw new ScimError(400, `userName must be an email address, got ${JSON.stringify(v)}`, 'invalidValue');
  return v;
}

/** The primary (else the first) `emails` value of a write; undefined when the body has no `emails`. */
function readEmails(v: unknown): string | null | undefined {
  if (v === undefined) return undefined;
  if (v === null) return null;
  if (!Array.isArray(v)) throw new ScimError(400, 'emails must be an array of {"value": "<address>"}', 'invalidValue');
  let first: string | null = null;
  for (const e of v) {
    const value = isObject(e) ? getCI(e, 'value') : undefined;
    if (typeof value !== 'string') throw new ScimError(400, 'each email needs a string "value"', 'invalidValue');
    checkUserName(value);
    if (isObject(e) && getCI(e, 'primary') === true) return value;
    first ??= value;
  }
  return first;
}

function checkTeamName(team: string, field: string): string {
  if (team.includes(':') || /\s/.test(team)) throw new ScimError(400, `${field} "${team}" is not a valid team name`, 'invalidValue');
  return team;
}

export class DockerStore {
  readonly users = new Map<string, StoredUser>();
  readonly groups = new Map<string, StoredGroup>();
  readonly quirks = { putWithoutActive: 0 };
  private readonly config: StoreConfig;
  private readonly dockerIds = new Set<string>();
  /** Lower-cased userName → user, and active users per org: kept in step so 100,000 users stay fast. */
  private readonly byUserName = new Map<string, StoredUser>();
  private readonly activeByOrg = new Map<string, number>();
  /** The users in creation order, kept between writes: a listing of 100,000 pages through it without copying it per page. */
  private userArray: StoredUser[] | null = null;

  constructor(config: StoreConfig) {
    this.config = config;
  }

  // ---- lookups ----

  userByName(userName: string): StoredUser | undefined {
    return this.byUserName.get(userName.toLowerCase());
  }

  /** Every user in creation order (the listing order). Do not change the array. */
  userList(): readonly StoredUser[] {
    this.userArray ??= [...this.users.values()];
    return this.userArray;
  }

  private insertUser(u: StoredUser): void {
    this.userArray = null;
    this.users.set(u.id, u);
    this.byUserName.set(u.userName.toLowerCase(), u);
  }

  private renameUser(u: StoredUser, userName: string): void {
    this.byUserName.delete(u.userName.toLowerCase());
    u.userName = userName;
    this.byUserName.set(userName.toLowerCase(), u);
  }

  groupByName(displayName: string): StoredGroup | undefined {
    const lower = displayName.toLowerCase();
    for (const g of this.groups.values()) if (g.displayName.toLowerCase() === lower) return g;
    return undefined;
  }

  getUser(id: string): StoredUser {
    const u = this.users.get(id);
    if (!u) throw new ScimError(404, `User ${id} not found`);
    return u;
  }

  getGroup(id: string): StoredGroup {
    const g = this.groups.get(id);
    if (!g) throw new ScimError(404, `Group ${id} not found`);
    return g;
  }

  /**
   * Resources matching a filter, in creation order (stable across pages). `index` may answer a
   * filter without a scan (the client's `userName eq "…"` lookup), or return null to scan.
   */
  select<T>(items: Iterable<T>, filter: string | null, toJson: (item: T) => Json, index?: (node: FilterNode) => T[] | null): readonly T[] {
    if (filter === null) return Array.isArray(items) ? (items as readonly T[]) : [...items];
    let node: FilterNode;
    try {
      node = parseFilter(filter);
    } catch (err) {
      if (err instanceof FilterError) throw new ScimError(400, err.message, 'invalidFilter');
      throw err;
    }
    const indexed = index?.(node);
    if (indexed) return indexed;
    return [...items].filter((item) => matches(node, toJson(item)));
  }

  /** `userName eq "…"` through the index; anything else scans. */
  userIndex(node: FilterNode): StoredUser[] | null {
    if (node.kind !== 'cmp' || node.op !== 'eq' || typeof node.value !== 'string') return null;
    const attr = node.attr.toLowerCase();
    if (attr !== 'username' && attr !== `${CORE_USER.toLowerCase()}:username`) return null;
    const u = this.userByName(node.value);
    return u ? [u] : [];
  }

  // ---- orgs, seats, teams ----

  private orgNamed(name: string): DockerOrgConfig | undefined {
    const lower = name.toLowerCase();
    return this.config.orgs.find((o) => o.name.toLowerCase() === lower);
  }

  private activeIn(org: string): number {
    return this.activeByOrg.get(org) ?? 0;
  }

  private countActive(org: string, delta: number): void {
    this.activeByOrg.set(org, this.activeIn(org) + delta);
  }

  private checkSeat(org: string): void {
    const limit = this.orgNamed(org)?.seatLimit;
    if (limit !== undefined && this.activeIn(org) >= limit) {
      // The exact text Docker shows (troubleshoot-sso.md); its HTTP status is a gap, hence configurable.
      throw new ScimError(this.config.seatErrorStatus, `Not enough seats in organization '${org}'. Add more seats or contact your administrator.`);
    }
  }

  /**
   * The extension → role/org/team, per the reference §6 table: no dockerOrg and no dockerTeam →
   * default org and default team; dockerOrg alone → that org and no team; dockerTeam → that team
   * in the given or default org. No extension object at all is the same as an empty one.
   */
  placement(ext: Json | undefined): Placement {
    const roleRaw = ext ? optionalString(getCI(ext, 'dockerRole'), 'dockerRole') : null;
    const orgRaw = ext ? optionalString(getCI(ext, 'dockerOrg'), 'dockerOrg') : null;
    const teamRaw = ext ? optionalString(getCI(ext, 'dockerTeam'), 'dockerTeam') : null;
    // Gap: Docker's reply to an unknown role is undocumented; 400 invalidValue (reference §6 [INF]).
    // Values are compared exactly: Docker documents them in lower case only.
    if (roleRaw !== null && !ROLES.has(roleRaw)) throw new ScimError(400, `dockerRole "${roleRaw}" is not one of member, editor, owner`, 'invalidValue');
    let org = this.config.defaultOrg;
    if (orgRaw !== null) {
      // Gap: the reply to an org outside the connection is undocumented; 400 invalidValue.
      const known = this.orgNamed(orgRaw);
      if (!known) throw new ScimError(400, `dockerOrg "${orgRaw}" is not an organization of this SSO connection`, 'invalidValue');
      org = known.name;
    }
    const team = teamRaw !== null ? checkTeamName(teamRaw, 'dockerTeam') : orgRaw !== null ? null : this.config.defaultTeam;
    return { role: roleRaw ?? 'member', org, team };
  }

  private extensionOf(u: StoredUser): Json {
    return { dockerRole: u.role, dockerOrg: u.org, ...(u.team !== null ? { dockerTeam: u.team } : {}) };
  }

  /** Validates an `org:team` name and returns the configured org's spelling. */
  private checkGroupName(v: unknown): string {
    if (typeof v !== 'string') throw new ScimError(400, 'displayName is required', 'invalidValue');
    const m = /^([^:\s]+):([^:\s]+)$/.exec(v);
    // Gap: the SCIM reply to a bad name is undocumented (reference §5); 400 invalidValue.
    if (!m) throw new ScimError(400, `Group displayName "${v}" is not formatted as '<organization name>:<team name>'`, 'invalidValue');
    if (!this.orgNamed(m[1] as string)) throw new ScimError(400, `Group displayName "${v}" names organization "${m[1]}", which is not part of this SSO connection`, 'invalidValue');
    return v;
  }

  /** Docker creates a team when a user or group names it (reference §5, §6). */
  private ensureGroup(displayName: string): StoredGroup {
    const existing = this.groupByName(displayName);
    if (existing) return existing;
    const t = now();
    const g: StoredGroup = { id: randomUUID(), displayName, externalId: null, members: new Set(), created: t, lastModified: t };
    this.groups.set(g.id, g);
    return g;
  }

  private joinTeam(u: StoredUser): void {
    if (u.team === null) return;
    const g = this.ensureGroup(`${u.org}:${u.team}`);
    if (!g.members.has(u.id)) {
      g.members.add(u.id);
      g.lastModified = now();
    }
  }

  private leaveAllTeams(u: StoredUser): void {
    for (const g of this.groups.values()) {
      if (g.members.delete(u.id)) g.lastModified = now();
    }
  }

  /**
   * Moves a user to a new active state and placement. Seats are checked first (a new, reactivated
   * or moved active user needs one in the target org). Deactivation leaves every team; activation
   * or a changed extension team joins that team. Docker never removes a user from the old team
   * because the extension changed: that is group sync's job.
   */
  private applyState(u: StoredUser, active: boolean, p: Placement, opts: { isNew: boolean; checkSeats: boolean }): void {
    const wasActive = opts.isNew ? false : u.active;
    if (active && opts.checkSeats && (!wasActive || u.org !== p.org)) this.checkSeat(p.org);
    const moved = u.org !== p.org || u.team !== p.team;
    if (wasActive) this.countActive(u.org, -1);
    if (active) this.countActive(p.org, +1);
    u.role = p.role;
    u.org = p.org;
    u.team = p.team;
    u.active = active;
    if (!active) {
      if (wasActive) this.leaveAllTeams(u);
    } else if (!wasActive || moved) {
      // Gap: whether an unchanged PUT re-adds a user removed from the team by group sync is
      // undocumented; the emulator only joins on activation or an extension change.
      this.joinTeam(u);
    }
  }

  private newDockerId(userName: string): string {
    const base = (userName.split('@')[0] ?? '').toLowerCase().replace(/[^a-z0-9]/g, '').slice(0, 20) || 'user';
    for (;;) {
      const id = `${base}${randomInt(100, 10000)}`;
      if (!this.dockerIds.has(id)) {
        this.dockerIds.add(id);
        return id;
      }
    }
  }

  private newUser(userName: string): StoredUser {
    const t = now();
    return {
      id: randomUUID(),
      userName,
      givenName: null,
      familyName: null,
      displayName: this.newDockerId(userName),
      active: false,
      role: 'member',
      org: this.config.defaultOrg,
      team: null,
      email: null,
      created: t,
      lastModified: t,
    };
  }

  private readName(body: Json): { givenName?: string; familyName?: string } {
    const name = getCI(body, 'name');
    if (name === undefined || name === null) return {};
    if (!isObject(name)) throw new ScimError(400, 'name must be an object', 'invalidValue');
    const out: { givenName?: string; familyName?: string } = {};
    for (const key of ['givenName', 'familyName'] as const) {
      const v = getCI(name, key);
      // Docker: "We will only ever change the name, but not clear it", so null/absent is "leave as is".
      if (v === undefined || v === null) continue;
      if (typeof v !== 'string') throw new ScimError(400, `name.${key} must be a string`, 'invalidValue');
      out[key] = v;
    }
    return out;
  }

  private readExtension(body: Json): Json | undefined {
    const ext = getCI(body, DOCKER_EXT);
    if (ext === undefined || ext === null) return undefined;
    if (!isObject(ext)) throw new ScimError(400, `${DOCKER_EXT} must be an object`, 'invalidSyntax');
    return ext;
  }

  /** A write for an account of a domain the connection has not verified is refused, before anything changes. */
  private checkDomain(userName: string): void {
    const domains = this.config.verifiedDomains ?? null;
    if (domains === null) return;
    const domain = userName.slice(userName.lastIndexOf('@') + 1).toLowerCase();
    const ok = domains.some((d) => (d.startsWith('*.') ? domain.endsWith(d.slice(1).toLowerCase()) && domain.length > d.length - 1 : domain === d.toLowerCase()));
    if (!ok) throw new ScimError(this.config.domainErrorStatus ?? 403, `Domain not verified: ${domain} (of ${userName}) is not a verified domain of this SSO connection`);
  }

  /** What `emails` leaves stored: an address of its own, or null when it is the userName. */
  private setEmail(u: StoredUser, email: string | null | undefined): void {
    if (email !== undefined) u.email = email;
    if (u.email !== null && u.email.toLowerCase() === u.userName.toLowerCase()) u.email = null;
  }

  private checkUnique(userName: string, self: StoredUser | null): void {
    const other = this.userByName(userName);
    if (other && other !== self) throw new ScimError(409, `User with userName '${userName}' already exists`, 'uniqueness');
  }

  // ---- user writes ----

  createUser(body: Json): StoredUser {
    requireSchema(body, CORE_USER);
    const userName = checkUserName(getCI(body, 'userName'));
    this.checkDomain(userName);
    // Gap: the documented 409 has no stated trigger; a userName already held (case-insensitively) is the likely one.
    this.checkUnique(userName, null);
    const name = this.readName(body);
    const email = readEmails(getCI(body, 'emails'));
    // RFC 7643: a new user is active unless the request says otherwise.
    const activeRaw = hasCI(body, 'active') ? getCI(body, 'active') : hasCI(body, 'enabled') ? getCI(body, 'enabled') : true;
    const active = requireBoolean(activeRaw, 'active');
    const placement = this.placement(this.readExtension(body));
    const u = this.newUser(userName);
    u.givenName = name.givenName ?? null;
    u.familyName = name.familyName ?? null;
    this.applyState(u, active, placement, { isNew: true, checkSeats: true });
    this.setEmail(u, email);
    this.insertUser(u);
    return u;
  }

  replaceUser(id: string, body: Json): StoredUser {
    const u = this.getUser(id);
    requireSchema(body, CORE_USER);
    const userName = hasCI(body, 'userName') ? checkUserName(getCI(body, 'userName')) : u.userName;
    if (!this.config.allowRename && userName.toLowerCase() !== u.userName.toLowerCase()) {
      throw new ScimError(400, `userName of ${u.userName} cannot be changed`, 'mutability');
    }
    this.checkDomain(userName);
    this.checkUnique(userName, u);
    const name = this.readName(body);
    // Gap: a PUT without `emails`; the emulator keeps the address as it is.
    const email = readEmails(getCI(body, 'emails'));
    let active: boolean;
    let quirk = false;
    if (hasCI(body, 'active')) active = requireBoolean(getCI(body, 'active'), 'active');
    else if (hasCI(body, 'enabled')) active = requireBoolean(getCI(body, 'enabled'), 'enabled');
    else {
      // Docker's OpenAPI: "If this is omitted from the request, it will default to false resulting
      // in a deactivated user." The emulator reproduces it and counts it, so tests can catch it.
      active = false;
      quirk = true;
    }
    const ext = this.readExtension(body);
    // Gap: a PUT without the extension object; the emulator keeps role, org and team as they are.
    const placement = ext ? this.placement(ext) : { role: u.role, org: u.org, team: u.team };
    this.applyState(u, active, placement, { isNew: false, checkSeats: true });
    if (userName !== u.userName) this.renameUser(u, userName);
    if (name.givenName !== undefined) u.givenName = name.givenName;
    if (name.familyName !== undefined) u.familyName = name.familyName;
    this.setEmail(u, email);
    u.lastModified = now();
    if (quirk) this.quirks.putWithoutActive++;
    return u;
  }

  /** RFC 7644 PATCH on a user: `active`, `userName`, `name.*` and the extension's attributes. */
  patchUser(id: string, body: Json): StoredUser {
    const u = this.getUser(id);
    requireSchema(body, PATCH_OP);
    const ops = getCI(body, 'Operations');
    if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'Operations must be a non-empty array', 'invalidSyntax');
    let active = u.active;
    let userName = u.userName;
    let email: string | null | undefined;
    const name: { givenName?: string; familyName?: string } = {};
    const ext: Json = this.extensionOf(u);
    const extPrefix = `${DOCKER_EXT.toLowerCase()}:`;
    const set = (path: string, value: unknown): void => {
      const p = path.toLowerCase();
      if (p === 'active') active = requireBoolean(value, 'active');
      else if (p === 'username') userName = checkUserName(value);
      else if (p === 'emails') email = readEmails(value);
      // Entra's mapping: emails[type eq "work"].value; a bare address for the one email there is.
      else if (/^emails(\[[^\]]*\])?\.value$/.test(p)) email = readEmails([{ value, primary: true }]);
      else if (p === 'name') Object.assign(name, this.readName({ name: value }));
      else if (p === 'name.givenname' || p === 'name.familyname') {
        const key = p === 'name.givenname' ? 'givenName' : 'familyName';
        Object.assign(name, this.readName({ name: { [key]: value } }));
      } else if (p === DOCKER_EXT.toLowerCase()) {
        if (!isObject(value)) throw new ScimError(400, `${DOCKER_EXT} must be an object`, 'invalidSyntax');
        for (const [k, v] of Object.entries(value)) ext[k] = v;
      } else if (p.startsWith(extPrefix)) ext[path.slice(extPrefix.length)] = value;
      else throw new ScimError(400, `attribute "${path}" cannot be changed`, 'invalidPath');
    };
    for (const raw of ops) {
      if (!isObject(raw)) throw new ScimError(400, 'each operation must be an object', 'invalidSyntax');
      const op = String(getCI(raw, 'op') ?? '').toLowerCase();
      const path = getCI(raw, 'path');
      const value = getCI(raw, 'value');
      if (op === 'add' || op === 'replace') {
        if (typeof path === 'string') set(path, value);
        else if (isObject(value)) for (const [k, v] of Object.entries(value)) set(k, v);
        else throw new ScimError(400, `"${op}" without a path needs an object value`, 'invalidSyntax');
      } else if (op === 'remove') {
        // Only the extension can be unset (it falls back to the defaults); Docker never clears a name.
        if (typeof path !== 'string' || !path.toLowerCase().startsWith(extPrefix)) throw new ScimError(400, `cannot remove "${String(path)}"`, 'mutability');
        const key = path.slice(extPrefix.length).toLowerCase();
        for (const k of Object.keys(ext)) if (k.toLowerCase() === key) delete ext[k];
      } else throw new ScimError(400, `unknown PATCH op "${op}"`, 'invalidSyntax');
    }
    this.checkDomain(userName);
    this.checkUnique(userName, u);
    const placement = this.placement(ext);
    this.applyState(u, active, placement, { isNew: false, checkSeats: true });
    if (userName !== u.userName) this.renameUser(u, userName);
    if (name.givenName !== undefined) u.givenName = name.givenName;
    if (name.familyName !== undefined) u.familyName = name.familyName;
    this.setEmail(u, email);
    u.lastModified = now();
    return u;
  }

  // ---- test helpers: state changed behind the tool's back ----

  seedUser(s: { userName: string; givenName?: string; familyName?: string; active?: boolean; role?: string; org?: string; team?: string | null }): StoredUser {
    this.checkUnique(s.userName, null);
    const ext: Json = {};
    if (s.role !== undefined) ext.dockerRole = s.role;
    if (s.org !== undefined) ext.dockerOrg = s.org;
    if (s.team !== undefined && s.team !== null) ext.dockerTeam = s.team;
    const placement = this.placement(ext);
    if (s.team === null) placement.team = null;
    const u = this.newUser(s.userName);
    u.givenName = s.givenName ?? null;
    u.familyName = s.familyName ?? null;
    // Manual and JIT accounts exist whatever the seat count says, so seeding does not check seats.
    this.applyState(u, s.active ?? true, placement, { isNew: true, checkSeats: false });
    this.insertUser(u);
    return u;
  }

  editUser(id: string, patch: Partial<{ userName: string; givenName: string; familyName: string; active: boolean; role: string; org: string; team: string | null; email: string | null }>): void {
    const u = this.getUser(id);
    if (patch.userName !== undefined) {
      this.checkUnique(patch.userName, u);
      this.renameUser(u, patch.userName);
    }
    if (patch.givenName !== undefined) u.givenName = patch.givenName;
    if (patch.familyName !== undefined) u.familyName = patch.familyName;
    const placement: Placement = {
      role: patch.role ?? u.role,
      org: patch.org !== undefined ? (this.orgNamed(patch.org)?.name ?? patch.org) : u.org,
      team: patch.team !== undefined ? patch.team : u.team,
    };
    this.applyState(u, patch.active ?? u.active, placement, { isNew: false, checkSeats: false });
    this.setEmail(u, patch.email);
    u.lastModified = now();
  }

  deleteUser(id: string): void {
    const u = this.getUser(id);
    this.leaveAllTeams(u);
    if (u.active) this.countActive(u.org, -1);
    this.userArray = null;
    this.users.delete(id);
    this.byUserName.delete(u.userName.toLowerCase());
  }

  // ---- groups ----

  private readMemberIds(value: unknown, forAdd: boolean): string[] {
    if (!Array.isArray(value)) throw new ScimError(400, 'members must be an array of {"value": "<user id>"}', 'invalidSyntax');
    return value.map((m) => {
      const v = isObject(m) ? getCI(m, 'value') : undefined;
      if (typeof v !== 'string') throw new ScimError(400, 'each member needs a "value" with the user id', 'invalidSyntax');
      if (forAdd) {
        const u = this.users.get(v);
        if (!u) throw new ScimError(400, `member ${v} is not a user of this organization`, 'invalidValue');
        // Gap: Docker's answer to adding a deprovisioned user to a team is undocumented. A
        // deactivated user is outside the org, so the emulator refuses rather than drop it quietly.
        if (!u.active) throw new ScimError(400, `member ${v} (${u.userName}) is deactivated; reactivate the user before adding them to a team`, 'invalidValue');
      }
      return v;
    });
  }

  createGroup(body: Json): StoredGroup {
    requireSchema(body, CORE_GROUP);
    const displayName = this.checkGroupName(getCI(body, 'displayName'));
    if (this.groupByName(displayName)) throw new ScimError(409, `Group '${displayName}' already exists`, 'uniqueness');
    const members = getCI(body, 'members');
    const ids = members === undefined || members === null ? [] : this.readMemberIds(members, true);
    const externalId = optionalString(getCI(body, 'externalId'), 'externalId');
    const g = this.ensureGroup(displayName);
    g.externalId = externalId;
    for (const id of ids) g.members.add(id);
    return g;
  }

  replaceGroup(id: string, body: Json): StoredGroup {
    const g = this.getGroup(id);
    requireSchema(body, CORE_GROUP);
    const displayName = this.checkGroupName(getCI(body, 'displayName'));
    const clash = this.groupByName(displayName);
    if (clash && clash !== g) throw new ScimError(409, `Group '${displayName}' already exists`, 'uniqueness');
    const members = getCI(body, 'members');
    const ids = members === undefined || members === null ? [] : this.readMemberIds(members, true);
    g.displayName = displayName;
    if (hasCI(body, 'externalId')) g.externalId = optionalString(getCI(body, 'externalId'), 'externalId');
    g.members.clear();
    for (const m of ids) g.members.add(m);
    g.lastModified = now();
    return g;
  }

  /**
   * RFC 7644 PATCH on a group: add/remove/replace `members`, either with a value list or, for
   * remove, a value filter (`members[value eq "<id>"]`, as Entra sends). Adding a member who is
   * already there is a no-op, and so is removing one who is not: a retried PATCH whose first
   * answer was lost must not fail.
   */
  patchGroup(id: string, body: Json): StoredGroup {
    const g = this.getGroup(id);
    requireSchema(body, PATCH_OP);
    const ops = getCI(body, 'Operations');
    if (!Array.isArray(ops) || ops.length === 0) throw new ScimError(400, 'Operations must be a non-empty array', 'invalidSyntax');
    const members = new MemberDraft(g.members);
    let displayName = g.displayName;
    let externalId = g.externalId;
    for (const raw of ops) {
      if (!isObject(raw)) throw new ScimError(400, 'each operation must be an object', 'invalidSyntax');
      const op = String(getCI(raw, 'op') ?? '').toLowerCase();
      const path = getCI(raw, 'path');
      const value = getCI(raw, 'value');
      const pathText = typeof path === 'string' ? path.trim() : null;
      const lowerPath = pathText?.toLowerCase() ?? null;
      const valueFilter = pathText ? /^members\[(.*)\]$/is.exec(pathText) : null;
      if (op === 'add' || op === 'replace') {
        const fields: Json = lowerPath === null ? (isObject(value) ? value : {}) : { [pathText as string]: value };
        if (lowerPath === null && !isObject(value)) throw new ScimError(400, `"${op}" without a path needs an object value`, 'invalidSyntax');
        for (const [k, v] of Object.entries(fields)) {
          const key = k.toLowerCase();
          if (key === 'members') {
            const ids = this.readMemberIds(v, true);
            if (op === 'replace') members.clear();
            for (const m of ids) members.add(m);
          } else if (key === 'displayname') displayName = this.checkGroupName(v);
          else if (key === 'externalid') externalId = optionalString(v, 'externalId');
          else throw new ScimError(400, `attribute "${k}" cannot be changed`, 'invalidPath');
        }
      } else if (op === 'remove') {
        if (lowerPath === 'members') {
          if (value === undefined || value === null) members.clear();
          else for (const m of this.readMemberIds(value, false)) members.delete(m);
        } else if (valueFilter) {
          let node;
          try {
            node = parseFilter(valueFilter[1] as string);
          } catch (err) {
            throw new ScimError(400, `invalid member filter: ${(err as Error).message}`, 'invalidFilter');
          }
          for (const m of members.current()) if (matches(node, { value: m })) members.delete(m);
        } else throw new ScimError(400, `cannot remove "${String(path)}"`, 'invalidPath');
      } else throw new ScimError(400, `unknown PATCH op "${op}"`, 'invalidSyntax');
    }
    const clash = this.groupByName(displayName);
    if (clash && clash !== g) throw new ScimError(409, `Group '${displayName}' already exists`, 'uniqueness');
    g.displayName = displayName;
    g.externalId = externalId;
    members.commit(g.members);
    g.lastModified = now();
    return g;
  }

  deleteGroup(id: string): void {
    this.getGroup(id);
    // Gap: whether Docker deletes the team or only empties it is undocumented; the emulator deletes.
    this.groups.delete(id);
  }
}
