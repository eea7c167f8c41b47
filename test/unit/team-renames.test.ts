import { describe, expect, it } from 'vitest';
import { findRenames, frozenTeams, renameFindings, sourcesToRecord } from '../../src/reconcile/team-renames.ts';

/** A renamed IdP group is a rename to make in Docker, not an emptied team beside a new one. */
describe('team renames', () => {
  const recorded = new Map([
    ['g1', 'acme:dev'],
    ['g2', 'acme:ops'],
  ]);

  it('a group recorded under another name that Docker still has, and Docker has no team of the new name: a rename', () => {
    const renames = findRenames({ current: new Map([['g1', 'acme:developers'], ['g2', 'acme:ops']]), recorded, dockerTeams: ['acme:dev', 'acme:ops'] });
    expect(renames).toEqual([{ groupId: 'g1', from: 'acme:dev', to: 'acme:developers' }]);
    expect(frozenTeams(renames)).toEqual(new Set(['acme:dev', 'acme:developers']));
    const [finding] = renameFindings(renames);
    expect(finding).toMatchObject({ code: 'TEAM_RENAMED', severity: 'warning', subject: 'acme:developers' });
    expect(finding?.advice).toContain('rename the team acme:dev to developers in Docker');
  });

  it('done once Docker has the new name, or no longer the old one; a change of letter case is no rename', () => {
    const current = new Map([['g1', 'acme:developers']]);
    expect(findRenames({ current, recorded, dockerTeams: ['acme:dev', 'ACME:Developers'] })).toEqual([]);
    expect(findRenames({ current, recorded, dockerTeams: ['acme:ops'] })).toEqual([]);
    expect(findRenames({ current: new Map([['g1', 'acme:Dev']]), recorded, dockerTeams: ['acme:dev'] })).toEqual([]);
  });

  it('a group never recorded (new, or before the first full run) is no rename', () => {
    expect(findRenames({ current: new Map([['g9', 'acme:dev2']]), recorded, dockerTeams: ['acme:dev'] })).toEqual([]);
  });

  it('what is recorded: every group as it is now, but a rename still pending keeps its old team', () => {
    const current = new Map([['g1', 'acme:developers'], ['g3', 'acme:web']]);
    const renames = findRenames({ current, recorded, dockerTeams: ['acme:dev'] });
    expect(sourcesToRecord(current, recorded, renames)).toEqual(new Map([['g1', 'acme:dev'], ['g3', 'acme:web']]));
  });
});
