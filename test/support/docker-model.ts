import type { DockerWriter } from '../../src/apply/executor.ts';
import { responseError } from '../../src/docker/errors.ts';
import { groupBody, membersPatch, readGroup, readUser, userBody } from '../../src/docker/wire.ts';
import type { DockerGroup, DockerSnapshot, DockerUser, UserAttributes } from '../../src/model/docker.ts';
import { DockerStore, type StoreConfig } from '../../src/sandbox/docker/store.ts';
import { ScimError, groupJson, userJson, type StoredUser, type WireOptions } from '../../src/sandbox/docker/wire.ts';

/**
 * A model of Docker for property tests: the emulator's own store (its SCIM semantics: seats, teams
 * joined from the extension, case-insensitive userNames, 409s, refusals) driven in-process, without
 * HTTP, through the same wire bodies the real client sends and reads. Every request and every answer
 * goes through JSON, as it would on the wire, so nothing is shared by reference with the store.
 *
 * It is deliberately not a second hand-written Docker: what it knows about Docker is what
 * `src/sandbox/docker/store.ts` knows, and what it knows about the client is `src/docker/wire.ts`.
 */

export const MODEL_ORGS = ['acme', 'acmelabs'] as const;
export const MODEL_DEFAULT_ORG = 'acme';
export const MODEL_DEFAULT_TEAM = 'everyone';

/** How many members the real client puts in one PATCH (DockerClientOptions.membersPerPatch default). */
const MEMBERS_PER_PATCH = 100;

type Json = Record<string, unknown>;

function wire(v: unknown): Json {
  return JSON.parse(JSON.stringify(v)) as Json;
}

/** One write the executor sent, with every Docker id it names (user ids, group id). */
export interface ModelWrite {
  readonly method: 'POST /Users' | 'PUT /Users' | 'POST /Groups' | 'PATCH /Groups';
  readonly path: string;
  readonly userIds: readonly string[];
  readonly userName?: string;
  /** For PATCH /Groups: the team, and whether members were added or removed. */
  readonly groupId?: string;
  readonly members?: 'add' | 'remove';
}

/** An account seeded into the model, as a hand-made or JIT account would be. */
export interface AccountSeed {
  readonly userName: string;
  readonly givenName: string | null;
  readonly familyName: string | null;
  readonly active: boolean;
  readonly role: string;
  readonly org: string;
  readonly team: string | null;
}

export interface GroupSeed {
  readonly name: string;
  /** Indexes into the seeded accounts; inactive ones are left out (Docker refuses them as members). */
  readonly members: readonly number[];
}

export interface ModelOptions {
  /** Whether reads echo the Docker extension (undocumented in Docker; the emulator's default is true). */
  readonly echoExtension?: boolean;
  /** Seats per org (active users); Docker refuses a create, move or reactivation beyond them. */
  readonly seatLimits?: Readonly<Partial<Record<(typeof MODEL_ORGS)[number], number>>>;
  /** Whether a PUT may change userName (undocumented in Docker; the emulator's default is true). */
  readonly allowRename?: boolean;
}

export class DockerModel implements DockerWriter {
  readonly store: DockerStore;
  readonly writes: ModelWrite[] = [];
  /** Errors that were not SCIM answers: a bug in the model or the store, never an expected refusal. */
  readonly internalErrors: unknown[] = [];
  private readonly wireOptions: WireOptions;

  constructor(opts: ModelOptions = {}) {
    // Not an inline literal, so the config stays valid whether or not StoreConfig grows an option.
    const config = {
      orgs: MODEL_ORGS.map((name) => {
        const seatLimit = opts.seatLimits?.[name];
        return seatLimit === undefined ? { name } : { name, seatLimit };
      }),
      defaultOrg: MODEL_DEFAULT_ORG,
      defaultTeam: MODEL_DEFAULT_TEAM,
      seatErrorStatus: 403,
      allowRename: opts.allowRename ?? true,
    };
    this.store = new DockerStore(config as StoreConfig);
    this.wireOptions = { baseUrl: 'https://docker.model/v2/scim/2.0', echoExtension: opts.echoExtension ?? true };
  }

  /** A model holding these accounts and teams; returns it with the Docker id of each account, by index. */
  static seeded(accounts: readonly AccountSeed[], groups: readonly GroupSeed[], opts: ModelOptions = {}): { model: DockerModel; ids: string[] } {
    const model = new DockerModel(opts);
    const s = model.store;
    const ids: string[] = [];
    for (const a of accounts) {
      const canonicalRole = a.role.toLowerCase();
      const u = s.seedUser({
        userName: a.userName,
        ...(a.givenName !== null ? { givenName: a.givenName } : {}),
        ...(a.familyName !== null ? { familyName: a.familyName } : {}),
        active: a.active,
        role: canonicalRole,
        org: a.org,
        team: a.team,
      });
      // A value Docker's own API would refuse (e.g. "Owner") can only appear behind its back.
      if (canonicalRole !== a.role) s.editUser(u.id, { role: a.role });
      ids.push(u.id);
    }
    for (const g of groups) {
      const group = s.groupByName(g.name) ?? s.createGroup(wire(groupBody(g.name)));
      const members = [...new Set(g.members.map((i) => ids[i % Math.max(1, ids.length)]))].filter(
        (id): id is string => id !== undefined && s.users.get(id)?.active === true,
      );
      if (members.length) s.patchGroup(group.id, wire(membersPatch('add', members)));
    }
    return { model, ids };
  }

  // ---- reads, as the client sees them ----

  private readStored(u: StoredUser): DockerUser {
    return readUser(wire(userJson(u, this.wireOptions)));
  }

  snapshot(): DockerSnapshot {
    const users = [...this.store.users.values()].map((u) => this.readStored(u));
    const groups: DockerGroup[] = [...this.store.groups.values()].map((g) => readGroup(wire(groupJson(g, this.wireOptions, this.store.users))).group);
    return { users, groups };
  }

  /** Everything Docker holds about an account, whether or not it is echoed, and the teams it is in. */
  dump(id: string): string | undefined {
    const u = this.store.users.get(id);
    if (!u) return undefined;
    const teams = [...this.store.groups.values()].filter((g) => g.members.has(id)).map((g) => g.displayName).sort();
    return JSON.stringify({ ...u, teams });
  }

  // ---- DockerWriter, with the client's semantics (src/docker/client.ts) ----

  async createUser(attrs: UserAttributes): Promise<{ user: DockerUser; existed: boolean }> {
    this.writes.push({ method: 'POST /Users', path: '/Users', userIds: [], userName: attrs.userName });
    try {
      return { user: this.readStored(this.store.createUser(wire(userBody(attrs)))), existed: false };
    } catch (err) {
      if (err instanceof ScimError && err.status === 409) {
        // The client looks the account up by userName and hands it back for the caller to judge.
        const existing = this.store.userByName(attrs.userName);
        if (existing) return { user: this.readStored(existing), existed: true };
      }
      throw this.fail(err, `POST /Users (create ${attrs.userName})`);
    }
  }

  async replaceUser(id: string, attrs: UserAttributes): Promise<DockerUser> {
    this.writes.push({ method: 'PUT /Users', path: `/Users/${id}`, userIds: [id], userName: attrs.userName });
    try {
      return this.readStored(this.store.replaceUser(id, wire(userBody(attrs))));
    } catch (err) {
      throw this.fail(err, `PUT /Users/${id} (update ${attrs.userName})`);
    }
  }

  async createGroup(displayName: string): Promise<{ group: DockerGroup; existed: boolean }> {
    this.writes.push({ method: 'POST /Groups', path: '/Groups', userIds: [] });
    try {
      const g = this.store.createGroup(wire(groupBody(displayName)));
      return { group: readGroup(wire(groupJson(g, this.wireOptions, this.store.users))).group, existed: false };
    } catch (err) {
      if (err instanceof ScimError && err.status === 409) {
        const existing = this.store.groupByName(displayName);
        if (existing) return { group: readGroup(wire(groupJson(existing, this.wireOptions, this.store.users))).group, existed: true };
      }
      throw this.fail(err, `POST /Groups (create team ${displayName})`);
    }
  }

  addMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    return this.patchMembers('add', groupId, userIds);
  }

  removeMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    return this.patchMembers('remove', groupId, userIds);
  }

  private async patchMembers(op: 'add' | 'remove', groupId: string, userIds: readonly string[]): Promise<number> {
    let sent = 0;
    for (let i = 0; i < userIds.length; i += MEMBERS_PER_PATCH) {
      const chunk = userIds.slice(i, i + MEMBERS_PER_PATCH);
      this.writes.push({ method: 'PATCH /Groups', path: `/Groups/${groupId}`, userIds: chunk, groupId, members: op });
      try {
        this.store.patchGroup(groupId, wire(membersPatch(op, chunk)));
      } catch (err) {
        throw this.fail(err, `PATCH /Groups/${groupId} (${op} ${chunk.length} member(s))`);
      }
      sent++;
    }
    return sent;
  }

  /** A SCIM refusal becomes the client's DockerApiError; anything else is recorded as a model bug. */
  private fail(err: unknown, operation: string): unknown {
    if (err instanceof ScimError) {
      return responseError({ operation, status: err.status, detail: err.message, ...(err.scimType ? { scimType: err.scimType } : {}), attempts: 1 });
    }
    this.internalErrors.push(err);
    return err;
  }
}
