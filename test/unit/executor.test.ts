import { afterEach, describe, expect, it } from 'vitest';
import { executePlan, type DockerWriter } from '../../src/apply/executor.ts';
import { silentLogger } from '../../src/logging/logger.ts';
import type { DockerGroup, DockerUser, UserAttributes } from '../../src/model/docker.ts';
import { AppError } from '../../src/model/errors.ts';
import type { MembershipRecord, Operation, Plan, TeamOperation } from '../../src/model/plan.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { openState } from '../../src/state/open.ts';
import type { StateStore } from '../../src/state/store.ts';
import { applied, desired, dockerUser, group, link, synced } from '../support/builders.ts';

/**
 * The executor applies a self-sufficient plan: every team change names its account, or the create
 * or adopt it comes from, and the executor takes ids only from the plan and those operations'
 * results. It is given no links and no ADOPT_EXISTING.
 */

/** Records every write; refuses the accounts or userNames in `refuse` as Docker would, with a 4xx. */
class RecordingDocker implements DockerWriter {
  readonly writes: string[] = [];
  readonly refuse = new Set<string>();
  private next = 1;

  async createUser(attrs: UserAttributes): Promise<{ user: DockerUser; existed: boolean }> {
    this.writes.push(`POST ${attrs.userName}`);
    this.check(attrs.userName, 'POST /Users');
    return { user: { id: `new-${this.next++}`, ...attrs }, existed: false };
  }
  async replaceUser(id: string, attrs: UserAttributes): Promise<DockerUser> {
    this.writes.push(`PUT ${id}`);
    this.check(id, `PUT /Users/${id}`);
    return { id, ...attrs };
  }
  async createGroup(displayName: string): Promise<{ group: DockerGroup; existed: boolean }> {
    this.writes.push(`POST group ${displayName}`);
    return { group: { id: `grp-${displayName}`, displayName, members: [] }, existed: false };
  }
  async addMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    this.writes.push(`add ${groupId} ${userIds.join(' ')}`);
    return 1;
  }
  async removeMembers(groupId: string, userIds: readonly string[]): Promise<number> {
    this.writes.push(`remove ${groupId} ${userIds.join(' ')}`);
    return 1;
  }
  private check(key: string, operation: string): void {
    if (this.refuse.has(key)) throw new AppError(`Docker refused ${key}`, { system: 'docker', operation, status: 403 });
  }
}

const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', teams: ['acme:everyone', 'acme:web'] });
const bob = desired({ idpId: 'u-bob', userName: 'bob@example.com', teams: ['acme:everyone', 'acme:web'] });
const cy = desired({ idpId: 'u-cy', userName: 'cy@example.com', teams: ['acme:everyone', 'acme:web'] });

/**
 * jane is linked (d1), bob has an account of his own to adopt (x2, already in acme:everyone), cy
 * has none: all three belong in acme:web, which has nobody yet.
 */
function threeWays(): Plan {
  return buildPlan({
    source: 'okta',
    idpUsers: 3,
    desired: { users: [jane, bob, cy], held: [], deprovisioned: [], findings: [] },
    // jane's link does not record acme:everyone yet, though Docker has her in it (say, adopted so).
    links: [link(jane, 'd1', { applied: { ...applied(jane), teams: [] } })],
    observed: { users: [synced(jane, 'd1'), dockerUser({ id: 'x2', userName: 'bob@example.com', givenName: 'B' })], groups: [group('acme:everyone', ['d1', 'x2']), group('acme:web', [], 'g-web')] },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 0, maxDeactivationPercent: 0, force: false },
  });
}

let state: StateStore;
const remembered: MembershipRecord[] = [];

function open(): StateStore {
  state = openState({ path: '/nonexistent/executor.db', dryRun: true });
  const original = state.rememberTeams.bind(state);
  remembered.length = 0;
  state.rememberTeams = (records) => {
    remembered.push(...(records as MembershipRecord[]));
    original(records);
  };
  return state;
}

afterEach(() => state?.close());

async function run(plan: Plan, docker: RecordingDocker, onProgress?: (done: number, total: number) => void) {
  const s = open();
  return executePlan({ runId: s.startRun('okta', false), plan, docker, state: s, logger: silentLogger(), concurrency: 1, ...(onProgress ? { onProgress } : {}) });
}

const webAdd = (p: Plan) => p.operations.find((o): o is TeamOperation => o.id === 'team-add:acme:web') as TeamOperation;

describe('executor: a self-sufficient plan', () => {
  it('team changes reach the linked account, the adopted one and the created one, from the plan alone', async () => {
    const plan = threeWays();
    // cy's create puts them in the default team itself: no team-add for it.
    expect(plan.operations.map((o) => o.id)).toEqual(['create:u-cy', 'adopt:u-bob', 'team-add:acme:web']);
    expect(webAdd(plan).members.map((m) => `${m.userName} ${m.dockerId} ${m.fromOperation ?? '-'}`)).toEqual(['bob@example.com x2 adopt:u-bob', 'cy@example.com null create:u-cy', 'jane@example.com d1 -']);
    const docker = new RecordingDocker();
    await run(plan, docker);
    expect(docker.writes).toEqual(['POST cy@example.com', 'PUT x2', 'add g-web x2 new-1 d1']);
    // Teams Docker already has them in are recorded: jane's at once, bob's once his adoption is in,
    // cy's (the one the create put them in) once the create is.
    expect(remembered).toEqual([
      { idpId: 'u-bob', teams: ['acme:everyone'], fromOperation: 'adopt:u-bob' },
      { idpId: 'u-cy', teams: ['acme:everyone'], fromOperation: 'create:u-cy' },
      { idpId: 'u-jane', teams: ['acme:everyone'] },
    ]);
  });

  it('a failed adoption leaves no account to touch: no team change and no membership record for it', async () => {
    const docker = new RecordingDocker();
    docker.refuse.add('x2');
    const results = await run(threeWays(), docker);
    expect(docker.writes).toEqual(['POST cy@example.com', 'PUT x2', 'add g-web new-1 d1']);
    expect(results.find((r) => r.opId === 'team-add:acme:web')).toMatchObject({ status: 'succeeded', members: 2, note: '1 member skipped: their account was not created or adopted' });
    expect(remembered.map((r) => r.idpId)).toEqual(['u-cy', 'u-jane']);
  });

  it('a member whose create or adopt is not in the plan (a reviewed plan without it) gets no team change and no record', async () => {
    const plan = threeWays();
    const docker = new RecordingDocker();
    await run({ ...plan, operations: plan.operations.filter((o) => o.kind !== 'create' && o.kind !== 'adopt') }, docker);
    expect(docker.writes).toEqual(['add g-web d1']);
    expect(remembered.map((r) => r.idpId)).toEqual(['u-jane']);
  });

  it('an adoption gives its member only the account it names', async () => {
    const plan = threeWays();
    const web = webAdd(plan);
    const elsewhere: TeamOperation = { ...web, members: web.members.map((m) => (m.idpId === 'u-bob' ? { ...m, dockerId: 'someone-else' } : m)) };
    const docker = new RecordingDocker();
    await run({ ...plan, operations: plan.operations.map((o): Operation => (o.id === web.id ? elsewhere : o)) }, docker);
    expect(docker.writes.at(-1)).toBe('add g-web new-1 d1');
  });

  it('reports progress after each operation settles, blocked and failed ones included', async () => {
    const leaver = desired({ idpId: 'u-old', userName: 'old@example.com' });
    const one = { ...jane, teams: ['acme:everyone'] };
    const plan = buildPlan({
      source: 'okta',
      idpUsers: 2,
      desired: { users: [{ ...one, familyName: 'Doe' }, { ...cy, teams: ['acme:everyone', 'acme:web'] }], held: [], deprovisioned: [], findings: [] },
      links: [link(one, 'd1'), link(leaver, 'd9')],
      observed: { users: [synced(one, 'd1'), synced(leaver, 'd9')], groups: [group('acme:everyone', ['d1', 'd9']), group('acme:web', [], 'g-web')] },
      options: { adoptExisting: true, deactivate: true, maxDeactivations: 0, maxDeactivationPercent: 0, force: false },
    });
    expect(plan.operations.map((o) => `${o.id}${o.blocked ? ` (${o.blocked})` : ''}`)).toEqual(['create:u-cy', 'update:u-jane', 'team-add:acme:web', 'deactivate:u-old (safety-threshold)']);
    const docker = new RecordingDocker();
    docker.refuse.add('cy@example.com');
    const progress: string[] = [];
    const results = await run(plan, docker, (done, total) => progress.push(`${done}/${total}`));
    expect(results.map((r) => r.status)).toEqual(['failed', 'succeeded', 'skipped', 'blocked']);
    expect(progress).toEqual(['1/4', '2/4', '3/4', '4/4']);
  });
});
