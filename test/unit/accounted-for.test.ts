import { describe, expect, it } from 'vitest';
import { SourceReadError } from '../../src/model/errors.ts';
import { accountedFor } from '../../src/run/observe.ts';
import { idpUser } from '../support/builders.ts';

const stats = { requests: 0, pages: 0, durationMs: 0 };

describe('an incremental read must account for every user it was asked for (invariant 11)', () => {
  it('each id back as assigned or as unassigned: nothing to say', () => {
    expect(() => accountedFor(['a', 'b'], { users: [idpUser({ idpId: 'a' })], unassigned: ['b'], notes: [], stats }, 'okta')).not.toThrow();
  });

  it('an id missing from both is a read error, never a user who looks unassigned', () => {
    const read = { users: [idpUser({ idpId: 'a' })], unassigned: [], notes: [], stats };
    expect(() => accountedFor(['a', 'b'], read, 'entra')).toThrow(SourceReadError);
    expect(() => accountedFor(['a', 'b'], read, 'entra')).toThrow(/returned nothing for 1 of the 2 users it was asked for \(b\)/);
  });
});
