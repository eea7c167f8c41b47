import { describe, expect, it } from 'vitest';
import { driftedLinks } from '../../src/reconcile/drift.ts';
import { desired, group, link, synced } from '../support/builders.ts';

describe('drift: managed accounts changed in Docker behind the tool\'s back', () => {
  const jane = desired({ idpId: 'u-jane', userName: 'jane@example.com', givenName: 'Jane', familyName: 'Doe' });
  const l = link(jane, 'd1');
  const teams = [group('acme:everyone', ['d1'])];

  it('an account as the tool left it is not drift', () => {
    expect(driftedLinks([l], { users: [synced(jane, 'd1')], groups: teams })).toEqual([]);
  });

  it.each([
    ['deleted', [], teams],
    ['deactivated by hand', [{ ...synced(jane, 'd1'), active: false }], teams],
    ['renamed by hand', [{ ...synced(jane, 'd1'), userName: 'j@example.com' }], teams],
    ['given a new name', [{ ...synced(jane, 'd1'), familyName: 'Smith' }], teams],
    ['given another role', [{ ...synced(jane, 'd1'), role: 'owner' }], teams],
    ['taken out of its team', [synced(jane, 'd1')], [group('acme:everyone', [])]],
  ] as const)('an account %s is drift', (_, users, groups) => {
    expect(driftedLinks([l], { users: [...users], groups: [...groups] })).toEqual(['u-jane']);
  });

  it('what Docker does not echo is not drift, and a userName differing only in case is the same', () => {
    expect(driftedLinks([l], { users: [{ ...synced(jane, 'd1'), role: undefined, givenName: null, userName: 'JANE@example.com' }], groups: teams })).toEqual([]);
  });

  it("an address Docker holds other than the one applied is drift; the userName echoed as emails, under a link written before emails were tracked, is not", () => {
    expect(driftedLinks([l], { users: [{ ...synced(jane, 'd1'), email: 'JANE@example.com' }], groups: teams })).toEqual([]);
    expect(driftedLinks([l], { users: [{ ...synced(jane, 'd1'), email: 'jane.doe@example.com' }], groups: teams })).toEqual(['u-jane']);
    const withMail = link(jane, 'd1', { applied: { ...l.applied, email: 'jane.doe@example.com' } });
    expect(driftedLinks([withMail], { users: [{ ...synced(jane, 'd1'), email: 'Jane.Doe@example.com' }], groups: teams })).toEqual([]);
    expect(driftedLinks([withMail], { users: [{ ...synced(jane, 'd1'), email: 'jane@example.com' }], groups: teams })).toEqual(['u-jane']);
    // Not echoed: unknown, not drift.
    expect(driftedLinks([withMail], { users: [synced(jane, 'd1')], groups: teams })).toEqual([]);
  });

  it('a leaver\'s account deleted or renamed since is not drift (a full run leaves it alone too); one active again is', () => {
    const off = link(jane, 'd1', { applied: { ...l.applied, active: false } });
    expect(driftedLinks([off], { users: [], groups: [] })).toEqual([]);
    expect(driftedLinks([off], { users: [{ ...synced(jane, 'd1'), active: false, userName: 'someone.else@example.com' }], groups: [] })).toEqual([]);
    expect(driftedLinks([off], { users: [{ ...synced(jane, 'd1'), active: true }], groups: [] })).toEqual(['u-jane']);
  });

  it('a deactivated account is not held to its teams', () => {
    const off = link(jane, 'd1', { applied: { ...l.applied, active: false } });
    expect(driftedLinks([off], { users: [{ ...synced(jane, 'd1'), active: false }], groups: [group('acme:everyone', [])] })).toEqual([]);
  });

  it('on a connection whose teams are not synced, no group was read, and teams are not compared', () => {
    expect(driftedLinks([l], { users: [synced(jane, 'd1')], groups: [] }, { teamsKnown: false })).toEqual([]);
    expect(driftedLinks([l], { users: [{ ...synced(jane, 'd1'), familyName: 'Smith' }], groups: [] }, { teamsKnown: false })).toEqual(['u-jane']);
  });
});
