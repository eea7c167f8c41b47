import type { Logger } from '../logging/logger.ts';
import type { DockerGroup, DockerUser, UserAttributes } from '../model/docker.ts';
import { AppError } from '../model/errors.ts';
import { subjectOf, type GroupCreateOperation, type Operation, type Plan, type TeamOperation, type UserOperation } from '../model/plan.ts';
import type { OperationError, OperationResult } from '../model/result.ts';
import { GroupCommit } from '../state/group-commit.ts';
import type { StateStore } from '../state/store.ts';
import { eachLimited } from '../util/concurrency.ts';

/**
 * Applies a plan exactly as planned. Each write is journaled before it is sent and after it is
 * answered, so a crash leaves a record; an operation that fails is reported and the independent
 * ones carry on. The order is the plan's: teams first (they must exist to receive members), then
 * users, then memberships, then deactivations last.
 */

/** How a team change skipped after Docker refused PATCH on /Groups begins its note (result-findings.ts reads it). */
export const PATCH_REFUSED = 'Docker refused PATCH /Groups';

/**
 * What the executor needs from Docker; the SCIM client provides it. The ids it links and adds to
 * teams come only from here, so a create must return the account or team it verified to carry the
 * name that was sent, never whatever id an answer claimed (the client checks, see createUser).
 */
export interface DockerWriter {
  /** The account named attrs.userName (case-insensitively); throws when that cannot be established. */
  createUser(attrs: UserAttributes): Promise<{ user: DockerUser; existed: boolean }>;
  /** Throws when the answer describes another id. */
  replaceUser(id: string, attrs: UserAttributes): Promise<DockerUser>;
  /** The team named displayName (case-insensitively); throws when that cannot be established. */
  createGroup(displayName: string, externalId?: string): Promise<{ group: DockerGroup; existed: boolean }>;
  addMembers(groupId: string, userIds: readonly string[]): Promise<number>;
  removeMembers(groupId: string, userIds: readonly string[]): Promise<number>;
}

export interface ExecuteOptions {
  readonly runId: string;
  /** Self-sufficient: every operation names its account, or the create or adopt it comes from. */
  readonly plan: Plan;
  readonly docker: DockerWriter;
  readonly state: StateStore;
  readonly logger: Logger;
  readonly concurrency: number;
  /** Once aborted, no new operation starts; those in flight finish and are journaled. */
  readonly signal?: AbortSignal;
  /** After each operation settles (applied, failed, blocked or skipped): a progress line, a log. */
  readonly onProgress?: (done: number, total: number) => void;
}

const PHASES: ReadonlyArray<ReadonlyArray<Operation['kind']>> = [
  ['group-create'],
  ['create', 'adopt', 'reactivate', 'update'],
  ['team-add', 'team-remove'],
  ['deactivate'],
];

export async function executePlan(opts: ExecuteOptions): Promise<OperationResult[]> {
  const { plan, state, runId, logger } = opts;
  const operations = plan.operations;
  // Results by the operation's place in the plan, which is also the order they are returned in;
  // the one map, from id to place, serves the memberships that name their create or adopt.
  const results: Array<OperationResult | undefined> = new Array(operations.length);
  const placeOf = new Map(operations.map((o, i) => [o.id, i]));
  const groupIds = new Map<string, string>();
  /** Why team changes are skipped, once Docker has refused PATCH on /Groups this run. */
  let patchRefused: string | null = null;
  // Journal rows of the writes in flight share a commit; each is on disk before its caller goes on.
  const commit = new GroupCommit(state);
  const journal = (record: () => void): Promise<void> => commit.write(record);

  /**
   * The account a team change (or a membership record) of this user goes to, as the plan resolved
   * it: their linked account, or the one the create or adopt it names gave, once that succeeded.
   * Undefined when there is none to touch.
   */
  const accountOf = (m: { readonly idpId: string; readonly dockerId?: string | null; readonly fromOperation?: string }): string | undefined => {
    if (m.fromOperation === undefined) return m.dockerId ?? undefined;
    const place = placeOf.get(m.fromOperation);
    const origin = place === undefined ? undefined : operations[place];
    if (!origin || (origin.kind !== 'create' && origin.kind !== 'adopt') || origin.idpId !== m.idpId) return undefined;
    const r = results[place as number];
    if (r?.status !== 'succeeded' || !r.dockerId) return undefined;
    // An adoption names its account; only that one is this user's, whatever an answer said.
    if (m.dockerId && m.dockerId !== r.dockerId) return undefined;
    return r.dockerId;
  };

  const total = operations.length;
  let done = 0;
  const settle = (place: number, r: OperationResult) => {
    results[place] = r;
    done += 1;
    try {
      opts.onProgress?.(done, total);
    } catch (err) {
      // A progress line that cannot be drawn must not stop an apply half-way.
      logger.debug({ err: (err as Error).message }, 'progress callback failed');
    }
  };

  for (const kinds of PHASES) {
    const places: number[] = [];
    operations.forEach((o, i) => {
      if (kinds.includes(o.kind)) places.push(i);
    });
    await eachLimited(places, opts.concurrency, async (place) => {
      const op = operations[place] as Operation;
      if (op.blocked) {
        settle(place, { opId: op.id, kind: op.kind, subject: subjectOf(op), status: 'blocked', note: op.blocked });
        return;
      }
      if (opts.signal?.aborted) {
        settle(place, { opId: op.id, kind: op.kind, subject: subjectOf(op), status: 'skipped', note: 'shutting down: not started' });
        return;
      }
      await journal(() => state.recordStart(runId, op));
      try {
        const r = await apply(op);
        settle(place, r);
      } catch (err) {
        const error = toOperationError(err);
        await journal(() => state.recordFailure(runId, op, error));
        logger.warn({ op: op.id, code: error.code, status: error.status }, `${op.kind} ${subjectOf(op)} failed: ${error.message}`);
        settle(place, { opId: op.id, kind: op.kind, subject: subjectOf(op), status: 'failed', error });
      }
    });
  }
  // A record needs only the user's link: theirs before the run, or made by the adoption it names.
  const linked = plan.memberships.filter((m) => m.fromOperation === undefined || accountOf(m) !== undefined);
  if (linked.length) state.rememberTeams(linked);
  logger.debug(commit.stats, 'journal rows committed, and the transactions that carried them');
  return results as OperationResult[];

  async function apply(op: Operation): Promise<OperationResult> {
    switch (op.kind) {
      case 'group-create':
        return createGroup(op);
      case 'team-add':
      case 'team-remove':
        return changeTeam(op);
      default:
        return writeUser(op);
    }
  }

  async function createGroup(op: GroupCreateOperation): Promise<OperationResult> {
    const { group, existed } = await opts.docker.createGroup(op.group, op.externalId);
    groupIds.set(op.group.toLowerCase(), group.id);
    await journal(() => state.recordGroupSuccess(runId, op, group.id, existed));
    logger.info({ op: op.id, groupId: group.id }, `${existed ? 'found existing' : 'created'} team ${op.group}`);
    return { opId: op.id, kind: op.kind, subject: op.group, status: 'succeeded', dockerId: group.id, ...(existed ? { note: 'already existed' } : {}) };
  }

  async function writeUser(op: UserOperation): Promise<OperationResult> {
    const base = { opId: op.id, kind: op.kind, subject: op.userName };
    if (op.kind === 'create') {
      const { user, existed } = await opts.docker.createUser(op.target);
      if (existed) {
        // Docker answered 409: an account with this userName appeared after the plan was made.
        // Taking it over here would be an adoption nobody reviewed; the next plan lists it as one.
        throw new AppError(`a Docker account named ${op.userName} (${user.id}) appeared after the plan was made; it was not touched`, {
          system: 'docker',
          operation: 'POST /Users',
          status: 409,
          hint: 'the next run lists it for review: as an adopt operation, or as adoptable with ADOPT_EXISTING=false',
        });
      }
      await journal(() => state.recordUserSuccess(runId, op, user.id, 'created'));
      logger.info({ op: op.id, dockerId: user.id }, `created ${op.userName}`);
      return { ...base, status: 'succeeded', dockerId: user.id };
    }
    if (op.kind === 'adopt') {
      if (op.changes.length > 0) await put(op, op.target);
      await journal(() => state.recordUserSuccess(runId, op, op.dockerId, 'adopted'));
      logger.info({ op: op.id, dockerId: op.dockerId, changes: op.changes.length }, `adopted ${op.userName}`);
      return { ...base, status: 'succeeded', dockerId: op.dockerId };
    }
    const rename = op.changes.find((c) => c.field === 'userName');
    try {
      await put(op, op.target);
    } catch (err) {
      if (op.kind === 'deactivate' && err instanceof AppError && err.status === 404) {
        // Gone is as deactivated as it gets: nothing is left to take access away from.
        await journal(() => state.recordUserSuccess(runId, op, op.dockerId, null, 'the account no longer exists in Docker'));
        logger.warn({ op: op.id, dockerId: op.dockerId }, `${op.userName} was to be deactivated but no longer exists in Docker`);
        return { ...base, status: 'succeeded', dockerId: op.dockerId, note: 'no longer exists in Docker' };
      }
      if (!rename || !(err instanceof AppError) || (err.status !== 400 && err.status !== 409)) throw err;
      // Docker refused the new userName (whether it allows renames is undocumented). The other
      // changes go through under the old one; the rename is reported, never turned into a new
      // account plus a deactivation.
      const before = String(rename.before);
      const kept = { ...op.target, userName: before };
      await put(op, kept);
      await journal(() => state.recordUserSuccess(runId, { ...op, target: kept }, op.dockerId, null, `rename to ${op.userName} refused`));
      const message = `Docker refused to rename ${before} to ${op.userName}${err.remoteMessage ? ` (${err.remoteMessage})` : ''}; the other changes were applied under the old userName, and nothing was duplicated or deactivated`;
      logger.warn({ op: op.id, dockerId: op.dockerId, status: err.status }, message);
      return {
        ...base,
        status: 'failed',
        dockerId: op.dockerId,
        error: {
          code: 'DOCKER_RENAME_REFUSED',
          message: `${message} (fix: change the email back in the IdP, or have the account's email changed in Docker; the next run then matches)`,
          ...(err.status !== undefined ? { status: err.status } : {}),
          ...(err.remoteMessage !== undefined ? { detail: err.remoteMessage } : {}),
        },
      };
    }
    await journal(() => state.recordUserSuccess(runId, op, op.dockerId, null));
    logger.info({ op: op.id, dockerId: op.dockerId, fields: op.changes.map((c) => c.field) }, `${pastTense(op.kind)} ${op.userName}`);
    return { ...base, status: 'succeeded', dockerId: op.dockerId };
  }

  /** PUT, with a vanished account (404) explained for the admin. */
  async function put(op: UserOperation & { dockerId: string }, target: UserAttributes): Promise<void> {
    try {
      await opts.docker.replaceUser(op.dockerId, target);
    } catch (err) {
      if (err instanceof AppError && err.status === 404 && op.kind !== 'deactivate') {
        throw new AppError(`the Docker account ${op.dockerId} (${op.userName}) vanished after the plan was made`, {
          system: 'docker',
          operation: `PUT /Users/${op.dockerId}`,
          status: 404,
          hint: 'nothing to do: the next run re-creates the account or re-links one with the same userName',
          cause: err,
        });
      }
      throw err;
    }
  }

  async function changeTeam(op: TeamOperation): Promise<OperationResult> {
    const base = { opId: op.id, kind: op.kind, subject: op.group };
    const groupId = op.groupId ?? groupIds.get(op.group.toLowerCase());
    if (!groupId) {
      throw new AppError(`team ${op.group} does not exist in Docker and could not be created this run`, {
        system: 'docker',
        operation: 'PATCH /Groups',
        hint: 'see the failed group-create operation above',
      });
    }
    const ready = op.members.flatMap((m) => {
      const id = accountOf(m);
      return id === undefined ? [] : [{ idpId: m.idpId, id }];
    });
    const ids = ready.map((m) => m.id);
    const missing = op.members.length - ready.length;
    if (patchRefused) return { ...base, status: 'skipped', dockerId: groupId, note: patchRefused };
    let requests: number;
    try {
      requests = ids.length === 0 ? 0 : op.kind === 'team-add' ? await opts.docker.addMembers(groupId, ids) : await opts.docker.removeMembers(groupId, ids);
    } catch (err) {
      // A connection that refuses PATCH on /Groups refuses it for every team: the first refusal
      // stops team sync for the run. Never a whole-group PUT instead: it would drop every member
      // this tool does not manage.
      if (!(err instanceof AppError) || (err.status !== 405 && err.status !== 501)) throw err;
      patchRefused = `${PATCH_REFUSED} (${err.status}): team changes are skipped this run; set DOCKER_TEAM_SYNC=off if this connection has no team sync`;
      logger.warn({ op: op.id, groupId, status: err.status }, patchRefused);
      return { ...base, status: 'skipped', dockerId: groupId, note: patchRefused };
    }
    const note = missing > 0 ? `${missing} member${missing === 1 ? '' : 's'} skipped: their account was not created or adopted` : undefined;
    await journal(() => state.recordTeamSuccess(runId, op, ready.map((m) => m.idpId), op.kind === 'team-add', { groupId, members: ids.length, requests, ...(note ? { note } : {}) }));
    logger.info({ op: op.id, groupId, members: ids.length, requests }, `${op.kind === 'team-add' ? 'added' : 'removed'} ${ids.length} member${ids.length === 1 ? '' : 's'} ${op.kind === 'team-add' ? 'to' : 'from'} ${op.group}`);
    return { ...base, status: missing > 0 && ids.length === 0 ? 'skipped' : 'succeeded', dockerId: groupId, members: ids.length, ...(note ? { note } : {}) };
  }
}

function pastTense(kind: string): string {
  return kind === 'update' ? 'updated' : kind === 'reactivate' ? 'reactivated' : kind === 'deactivate' ? 'deactivated' : kind;
}

export function toOperationError(err: unknown): OperationError {
  if (err instanceof AppError) {
    const code = (err as AppError & { code?: unknown }).code;
    return {
      code: typeof code === 'string' ? code : err.status ? `${err.system.toUpperCase()}_HTTP_${err.status}` : `${err.system.toUpperCase()}_ERROR`,
      message: err.hint ? `${err.message} (fix: ${err.hint})` : err.message,
      ...(err.status !== undefined ? { status: err.status } : {}),
      ...(err.remoteMessage !== undefined ? { detail: err.remoteMessage } : {}),
    };
  }
  return { code: 'INTERNAL', message: err instanceof Error ? err.message : String(err) };
}
