import { describe, expect, it } from 'vitest';
import type { Plan } from '../../src/model/plan.ts';
import { buildPlan } from '../../src/reconcile/plan.ts';
import { canonicalJson, checkPlanSource, makePlanFile, parsePlanFile, planDigest, PlanFileError, serializePlanFile, type PlanFile } from '../../src/run/plan-file.ts';
import { desired, dockerUser, group } from '../support/builders.ts';

/** The plan file's own checks: what `apply` refuses before it reads anything. */

const IDENTITY = 'okta https://acme.okta.com app 0oa1';
const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });

function plan(): Plan {
  return buildPlan({
    source: 'okta',
    idpUsers: 1,
    desired: { users: [jane], held: [], deprovisioned: [], findings: [] },
    links: [],
    observed: { users: [dockerUser({ id: 'x1', userName: 'manual@example.com' })], groups: [group('acme:everyone', [])] },
    options: { adoptExisting: true, deactivate: true, maxDeactivations: 25, maxDeactivationPercent: 100, force: false },
  });
}

const file = (): PlanFile => makePlanFile(plan(), { toolVersion: '0.1.0', createdAt: '2026-12-01T10:00:00.000Z', sourceIdentity: IDENTITY, stateFile: '/data/state.db' });
const refusal = (text: string): string => {
  try {
    parsePlanFile(text, 'plan.json');
  } catch (err) {
    expect(err).toBeInstanceOf(PlanFileError);
    return (err as PlanFileError).describe();
  }
  throw new Error('the plan file was accepted');
};

describe('plan file', () => {
  it('round-trips: what `plan` writes, `apply` reads back as the same plan', () => {
    const f = file();
    expect(f).toMatchObject({ format: 'docker-idp-sync/plan', formatVersion: 1, toolVersion: '0.1.0', source: { kind: 'okta', identity: IDENTITY }, stateFile: '/data/state.db' });
    expect(f.digest).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(parsePlanFile(serializePlanFile(f), 'plan.json')).toEqual(f);
  });

  it('the digest is over canonical JSON: key order and indentation do not matter, content does', () => {
    expect(canonicalJson({ b: 1, a: { d: [1, { f: true, e: null }], c: 'x' } })).toBe('{"a":{"c":"x","d":[1,{"e":null,"f":true}]},"b":1}');
    const f = file();
    const reordered = JSON.parse(JSON.stringify({ plan: f.plan, digest: f.digest, source: f.source, createdAt: f.createdAt, toolVersion: f.toolVersion, formatVersion: f.formatVersion, format: f.format, stateFile: f.stateFile }));
    expect(parsePlanFile(JSON.stringify(reordered), 'plan.json').digest).toBe(f.digest);
    expect(planDigest({ ...f, createdAt: '2026-12-01T10:00:01.000Z' })).not.toBe(f.digest);
  });

  it('a hand-edited plan is refused: one changed value anywhere breaks the digest', () => {
    const text = serializePlanFile(file());
    expect(text).toContain('"familyName": "Doe"');
    expect(refusal(text.replace('"familyName": "Doe"', '"familyName": "Dough"'))).toContain('does not match its digest');
    // The header is covered too: another tenant written in by hand is caught here, not only by checkPlanSource.
    expect(refusal(text.replace(IDENTITY, 'okta https://other.okta.com app 0oa1'))).toContain('does not match its digest');
    const doc = JSON.parse(text);
    delete doc.digest;
    expect(refusal(JSON.stringify(doc))).toContain('does not match its digest');
  });

  it('refuses what is not a plan file, or one of a newer format, saying what to do', () => {
    expect(refusal('{ not json')).toContain('is not JSON');
    expect(refusal(JSON.stringify({ format: 'docker-idp-sync/report', version: 1 }))).toContain('is not a docker-idp-sync plan file');
    const newer = { ...file(), formatVersion: 2 };
    expect(refusal(JSON.stringify({ ...newer, digest: planDigest(newer) }))).toContain('written by a newer docker-idp-sync (plan format version 2');
  });

  it('refuses a plan whose digest checks out but whose content is no plan (made by hand, digest and all)', () => {
    const f = file();
    const op = f.plan.operations[0];
    const twice = { ...f, plan: { ...f.plan, operations: [op, op] } };
    expect(refusal(JSON.stringify({ ...twice, digest: planDigest(twice) }))).toContain(`operation ${op?.id} appears twice`);
    const wrongKind = { ...f, plan: { ...f.plan, operations: [{ ...op, kind: 'delete' }] } };
    expect(refusal(JSON.stringify({ ...wrongKind, digest: planDigest(wrongKind) }))).toContain('unknown kind');
  });

  it("refuses a plan made for another IdP tenant or app than the configuration's", () => {
    const f = file();
    expect(() => checkPlanSource(f, IDENTITY, 'plan.json')).not.toThrow();
    const err = (() => {
      try {
        checkPlanSource(f, 'okta https://acme.okta.com app 0oa2', 'plan.json');
      } catch (e) {
        return e as PlanFileError;
      }
      return null;
    })();
    expect(err).toBeInstanceOf(PlanFileError);
    expect(err?.describe()).toBe(
      `cannot apply the plan plan.json: it was made for "${IDENTITY}", but this configuration reads "okta https://acme.okta.com app 0oa2"\n  fix: apply it with the configuration it was made with, or run \`plan --out FILE\` with this one and review that`,
    );
  });
});
