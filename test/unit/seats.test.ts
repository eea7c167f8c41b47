import { describe, expect, it } from 'vitest';
import { resultFindings } from '../../src/apply/result-findings.ts';
import type { UserAttributes } from '../../src/model/docker.ts';
import type { Change, Operation, Plan } from '../../src/model/plan.ts';
import type { OperationResult } from '../../src/model/result.ts';
import { seatFindings, seatLineText, seatUse } from '../../src/reconcile/seats.ts';

/** Seats per org, from the plan; Docker's seat refusals, one finding per org. */

const target = (userName: string, org = 'acme'): UserAttributes => ({ userName, givenName: 'G', familyName: 'F', active: true, role: 'member', org, team: null });
const create = (n: number, org = 'acme'): Operation => ({ id: `create:u${n}`, kind: 'create', idpId: `u${n}`, userName: `u${n}@example.com`, target: target(`u${n}@example.com`, org), reason: 'assigned' });
const user = (kind: 'update' | 'reactivate' | 'deactivate' | 'adopt', n: number, changes: Change[], org = 'acme', blocked?: 'safety-threshold'): Operation => ({
  id: `${kind}:u${n}`,
  kind,
  idpId: `u${n}`,
  dockerId: `d${n}`,
  userName: `u${n}@example.com`,
  changes,
  target: { ...target(`u${n}@example.com`, org), active: kind !== 'deactivate' },
  reason: 'why',
  ...(blocked ? { blocked } : {}),
});
const on: Change = { field: 'active', before: false, after: true };
const off: Change = { field: 'active', before: true, after: false };
const move = (from: string, to: string): Change => ({ field: 'org', before: from, after: to });

describe('seat use', () => {
  it('takes a seat per create, reactivation (an adoption that reactivates too) and move in; frees one per deactivation and move out', () => {
    const ops: Operation[] = [
      { id: 'group-create:acme:dev', kind: 'group-create', group: 'acme:dev', reason: 'new' },
      create(1),
      create(2),
      create(3, 'labs'),
      user('reactivate', 4, [on]),
      user('adopt', 5, [on]),
      user('adopt', 6, []),
      user('update', 7, [move('labs', 'acme')]),
      user('update', 8, [{ field: 'givenName', before: 'A', after: 'B' }]),
      user('deactivate', 9, [off]),
      // Reactivated into another org: it held no seat where it was.
      user('reactivate', 10, [on, move('labs', 'acme')]),
    ];
    expect(seatUse(ops)).toEqual([
      { org: 'acme', creates: 2, reactivations: 3, movesIn: 1, movesOut: 0, deactivations: 1, peak: 6, net: 5 },
      { org: 'labs', creates: 1, reactivations: 0, movesIn: 0, movesOut: 1, deactivations: 0, peak: 1, net: 0 },
    ]);
  });

  it('a blocked operation takes and frees nothing: held deactivations free no seat', () => {
    const ops = [create(1), user('deactivate', 2, [off], 'acme', 'safety-threshold'), user('deactivate', 3, [off], 'acme', 'safety-threshold')];
    expect(seatUse(ops)).toEqual([{ org: 'acme', creates: 1, reactivations: 0, movesIn: 0, movesOut: 0, deactivations: 0, peak: 1, net: 1 }]);
  });

  it('the peak never counts what deactivations free: they run last and may free nothing at once', () => {
    const [line] = seatUse([create(1), create(2), user('deactivate', 3, [off]), user('deactivate', 4, [off]), user('deactivate', 5, [off])]);
    expect(line).toMatchObject({ peak: 2, net: -1 });
    expect(seatLineText(line!)).toBe('acme: up to +2 (2 creates), then −3 (3 deactivations), net −1');
    expect(seatLineText(seatUse([user('deactivate', 3, [off])])[0]!)).toBe('acme: takes none, −1 (1 deactivation), net −1');
  });
});

describe('seat findings', () => {
  const plan = { operations: [create(1), create(2), create(3), create(4, 'labs'), user('reactivate', 5, [on])] } as unknown as Plan;
  const seats = (opId: string, subject: string, detail?: string): OperationResult => ({
    opId,
    kind: 'create',
    subject,
    status: 'failed',
    error: { code: 'DOCKER_SEATS', message: 'Docker refused the create', ...(detail ? { detail } : {}) },
  });

  it('one finding per org with the number of accounts that failed, the org from Docker\'s words or else the plan', () => {
    const results: OperationResult[] = [
      seats('create:u1', 'u1@example.com', "Not enough seats in organization 'acme'. Add more seats or contact your administrator."),
      seats('create:u2', 'u2@example.com', "Not enough seats in organization 'acme'."),
      seats('reactivate:u5', 'u5@example.com'),
      seats('create:u4', 'u4@example.com'),
      { opId: 'create:u3', kind: 'create', subject: 'u3@example.com', status: 'failed', error: { code: 'DOCKER_CONFLICT', message: 'taken' } },
    ];
    const found = seatFindings(plan, results);
    expect(found.map((f) => [f.code, f.subject, f.severity])).toEqual([
      ['SEATS_EXHAUSTED', 'acme', 'error'],
      ['SEATS_EXHAUSTED', 'labs', 'error'],
    ]);
    expect(found[0]?.message).toContain('3 accounts could not be created or reactivated in acme');
    expect(found[0]?.advice).toContain('Buy at least 3 more seats for acme');
    expect(found[1]?.message).toContain('1 account could not');
  });

  it('none when no seat was refused', () => {
    expect(seatFindings(plan, [{ opId: 'create:u1', kind: 'create', subject: 'u1', status: 'succeeded' }])).toEqual([]);
  });

  it('a refused PATCH /Groups is said once for the run, with the number of team changes skipped', () => {
    const note = 'Docker refused PATCH /Groups (405): team changes are skipped this run; set DOCKER_TEAM_SYNC=off if this connection has no team sync';
    const results: OperationResult[] = [
      { opId: 'team-add:acme:dev', kind: 'team-add', subject: 'acme:dev', status: 'skipped', note },
      { opId: 'team-add:acme:ops', kind: 'team-add', subject: 'acme:ops', status: 'skipped', note },
      { opId: 'team-add:acme:web', kind: 'team-add', subject: 'acme:web', status: 'skipped', note: '1 member skipped: their account was not created or adopted' },
    ];
    const found = resultFindings(plan, results);
    expect(found).toHaveLength(1);
    expect(found[0]).toMatchObject({ code: 'TEAM_SYNC_UNAVAILABLE', severity: 'warning' });
    expect(found[0]?.message).toContain('2 team changes were skipped');
  });
});
