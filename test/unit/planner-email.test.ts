import { describe, expect, it } from 'vitest';
import type { DesiredUser } from '../../src/model/desired.ts';
import type { DockerUser } from '../../src/model/docker.ts';
import type { Link } from '../../src/model/link.ts';
import type { Plan, UpdateOperation } from '../../src/model/plan.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { desired, group, link, synced } from '../support/builders.ts';

/**
 * Docker's `emails`, planned as "an address other than the userName, or none" (Entra's mail, per
 * Docker's Entra mapping). Upgrading must not churn: links written before the address was tracked
 * hold none, and Docker echoes the userName for them.
 */

function plan(users: DesiredUser[], links: Link[], docker: DockerUser[], deprovisioned: string[] = []): Plan {
  return buildPlan({
    source: 'entra',
    idpUsers: users.length,
    desired: { users, held: [], deprovisioned, findings: [] },
    links,
    observed: { users: docker, groups: [group('acme:everyone', docker.map((u) => u.id))] },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false },
  });
}
const only = (p: Plan) => {
  expect(p.operations).toHaveLength(1);
  return p.operations[0] as UpdateOperation;
};

describe('planning emails', () => {
  const ada = desired({ idpId: 'u-ada', userName: 'ada@acme.com' });
  const withMail = { ...ada, email: 'ada.lovelace@acme.com' };
  const before = link(ada, 'd1');

  it.each([
    ['Docker echoes the userName', { email: 'ada@acme.com' }],
    ['Docker echoes it in another case', { email: 'ADA@acme.com' }],
    ['Docker echoes no emails', {}],
  ])('upgrading, an account whose address is its userName needs no write: %s', (_what, echo) => {
    const p = plan([ada], [before], [{ ...synced(ada, 'd1'), ...echo }]);
    expect(p.operations).toEqual([]);
    expect(p.findings).toEqual([]);
  });

  it('a mail of its own is one update, from the address Docker holds, not drift', () => {
    const op = only(plan([withMail], [before], [{ ...synced(ada, 'd1'), email: 'ada@acme.com' }]));
    expect(op).toMatchObject({ kind: 'update', changes: [{ field: 'email', before: 'ada@acme.com', after: 'ada.lovelace@acme.com' }] });
    expect(op.changes[0]).not.toHaveProperty('drift');
    expect(op.target.email).toBe('ada.lovelace@acme.com');
  });

  it('with no echo, the address last applied stands in: the userName for a link that has none', () => {
    expect(only(plan([withMail], [before], [synced(ada, 'd1')])).changes).toEqual([{ field: 'email', before: 'ada@acme.com', after: 'ada.lovelace@acme.com' }]);
    const applied = link(withMail, 'd1', { applied: { ...before.applied, email: 'ada.lovelace@acme.com' } });
    expect(plan([withMail], [applied], [synced(ada, 'd1')]).operations).toEqual([]);
  });

  it('an address applied and echoed back plans nothing; a new one is an update; one changed in Docker is drift', () => {
    const applied = link(withMail, 'd1', { applied: { ...before.applied, email: 'ada.lovelace@acme.com' } });
    expect(plan([withMail], [applied], [{ ...synced(ada, 'd1'), email: 'Ada.Lovelace@acme.com' }]).operations).toEqual([]);
    const moved = { ...withMail, email: 'ada.king@acme.com' };
    expect(only(plan([moved], [applied], [{ ...synced(ada, 'd1'), email: 'ada.lovelace@acme.com' }])).changes).toEqual([{ field: 'email', before: 'ada.lovelace@acme.com', after: 'ada.king@acme.com' }]);
    const p = plan([withMail], [applied], [{ ...synced(ada, 'd1'), email: 'someone@acme.com' }]);
    expect(only(p).changes).toEqual([{ field: 'email', before: 'someone@acme.com', after: 'ada.lovelace@acme.com', drift: true }]);
    expect(p.findings).toMatchObject([{ code: 'DRIFT', message: `Docker's email is "someone@acme.com" but this tool last applied "ada.lovelace@acme.com"; it is set back to "ada.lovelace@acme.com"` }]);
  });

  it('a mail that goes away sends the userName again', () => {
    const applied = link(withMail, 'd1', { applied: { ...before.applied, email: 'ada.lovelace@acme.com' } });
    const op = only(plan([ada], [applied], [{ ...synced(ada, 'd1'), email: 'ada.lovelace@acme.com' }]));
    expect(op.changes).toEqual([{ field: 'email', before: 'ada.lovelace@acme.com', after: 'ada@acme.com' }]);
    expect(op.target).not.toHaveProperty('email');
  });

  it('a rename alone is a userName change, not an address change too', () => {
    const renamed = { ...ada, userName: 'ada.k@acme.com' };
    expect(only(plan([renamed], [before], [{ ...synced(ada, 'd1'), email: 'ada@acme.com' }])).changes.map((c) => c.field)).toEqual(['userName']);
  });

  it('a create carries the address in its target; a deactivation leaves the address Docker holds', () => {
    const create = only(plan([withMail], [], []));
    expect(create).toMatchObject({ kind: 'create', target: { email: 'ada.lovelace@acme.com' } });
    const off = plan([{ ...withMail, active: false }], [before], [{ ...synced(ada, 'd1'), email: 'ada.lovelace@acme.com' }]);
    expect(only(off)).toMatchObject({ kind: 'deactivate', target: { active: false, email: 'ada.lovelace@acme.com' } });
  });
});
