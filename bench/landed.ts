import type { FewChange } from './population.ts';

/**
 * Whether a change made in the IdP shows in Docker: read from the Docker emulator's store, not from
 * what the product says it did, so a run that reports success but wrote the wrong thing (or
 * nothing) is caught. Pure over a view of Docker; the emulator (DockerScimEmulator) is one.
 */

export interface DockerView {
  user(userName: string): { readonly id: string; readonly familyName: string | null; readonly active: boolean; readonly role?: string | null } | undefined;
  group(displayName: string): { readonly members: readonly string[] } | undefined;
}

export function landed(c: FewChange, docker: DockerView): boolean {
  const u = docker.user(c.userName);
  switch (c.kind) {
    case 'renamed':
      return u !== undefined && u.familyName === c.familyName;
    case 'roleChanged':
      return u !== undefined && u.role === c.role;
    case 'unassigned':
      // Deactivated, never deleted (invariant 3): an account that vanished has not "landed".
      return u !== undefined && !u.active;
    case 'joined':
      return u !== undefined && (docker.group(c.team)?.members.includes(u.id) ?? false);
    case 'assigned':
      return u !== undefined && u.active;
  }
}

/** What a change is, in a few words, for a report or an error. */
export function describeChange(c: FewChange): string {
  switch (c.kind) {
    case 'renamed':
      return `${c.userName} renamed to ${c.familyName}`;
    case 'roleChanged':
      return `${c.userName} made ${c.role}`;
    case 'unassigned':
      return `${c.userName} unassigned`;
    case 'joined':
      return `${c.userName} joined ${c.team}`;
    case 'assigned':
      return `${c.userName} newly assigned`;
  }
}

/** The changes that have not reached Docker, as one line for a failed step; null when all have. */
export function unlandedText(changes: readonly FewChange[], docker: DockerView): string | null {
  const missing = changes.filter((c) => !landed(c, docker));
  if (missing.length === 0) return null;
  const shown = missing.slice(0, 3).map(describeChange).join('; ');
  return `${missing.length} of ${changes.length} changes did not reach Docker: ${shown}${missing.length > 3 ? '; …' : ''}`;
}
