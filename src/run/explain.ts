import type { Logger } from '../logging/logger.ts';
import { traceMapping } from '../mapping/explain.ts';
import type { DockerSnapshot, DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { Link } from '../model/link.ts';
import type { Operation, Plan } from '../model/plan.ts';
import { changeLines } from '../report/describe.ts';
import type { DockerAccountView, DockerHolding, Explanation, JournalEntry, NextOperation, PersonExplanation } from '../report/explain.ts';
import type { JournalRow, StateStore } from '../state/store.ts';
import { mappingPolicyOf } from './make-plan.ts';
import { observeAndPlan, type ObserveDeps } from './observe.ts';
import type { ScopedView } from './scoped.ts';
import { checkSourceBinding } from './sync.ts';
import { resolveTargets } from './targeted.ts';

/**
 * `explain EMAIL`: the targeted run of `sync --user` as a dry run (the store is an in-memory copy,
 * and Docker gets reads only), then, for each IdP user the email stands for, what the plan was made
 * from and what it would do to them. Nothing is written anywhere (invariant 5).
 */

export interface ExplainDeps extends ObserveDeps {
  readonly logger: Logger;
  readonly sourceIdentity: string;
  readonly clock?: () => Date;
}

/** Journal rows shown per person. */
const JOURNAL_ROWS = 10;

export async function explainEmail(deps: ExplainDeps, email: string, signal?: AbortSignal): Promise<Explanation> {
  const { state, config } = deps;
  if (!state.dryRun) throw new Error('explain needs the state file opened as an in-memory copy (dryRun): it must not write to it');
  const now = (deps.clock ?? (() => new Date()))();
  checkSourceBinding(state, deps.sourceIdentity, true);
  const targets = await resolveTargets(deps, [email], signal);
  const observed = await observeAndPlan(
    deps,
    { mode: 'full', targets, reviewed: false, noDeactivate: false, force: false, forceLastOwner: false, signal, now },
    { runId: 'explain', log: deps.logger.child({ runId: 'explain' }), reads: { idpMs: 0, dockerMs: 0 }, readDone: () => {} },
  );
  const view = observed.view as ScopedView;
  const policy = mappingPolicyOf(config);
  const people = targets.ids.map((id): PersonExplanation => {
    const user = view.snapshot.users.find((u) => u.idpId === id) ?? null;
    const link = view.links.find((l) => l.idpId === id) ?? null;
    const userName = user?.userName ?? link?.userName ?? null;
    const name = user ? [user.givenName, user.familyName].filter(Boolean).join(' ') || null : null;
    return {
      idpId: id,
      userName,
      name,
      idp: user ? traceMapping(user, config.source, policy, view.groupNames) : null,
      docker: holdingOf(id, userName, link, view),
      next: nextFor(id, observed.plan),
      findings: findingsFor(id, userName, user?.groups ?? [], observed.plan),
      journal: journalOf(state, id),
    };
  });
  return { email: targets.emails[0] ?? email, source: config.source, generatedAt: now.toISOString(), people, interruptedWrites: state.interruptedWrites().length };
}

/** The account the person's link names, else one with their userName (an adoption, or another user's). */
export function holdingOf(idpId: string, userName: string | null, link: Link | null, view: Pick<ScopedView, 'observed' | 'links' | 'teamsRead'>): DockerHolding {
  const { observed, teamsRead } = view;
  if (link) {
    const account = observed.users.find((u) => u.id === link.dockerId);
    return { kind: 'linked', origin: link.origin, dockerId: link.dockerId, account: account ? accountView(account, observed, teamsRead) : null };
  }
  const lower = userName?.toLowerCase();
  const match = lower ? observed.users.find((u) => u.userName.toLowerCase() === lower) : undefined;
  if (!match) return { kind: 'none' };
  const other = view.links.find((l) => l.dockerId === match.id && l.idpId !== idpId);
  return { kind: 'match', account: accountView(match, observed, teamsRead), heldBy: other ? other.idpId : null };
}

function accountView(u: DockerUser, observed: DockerSnapshot, teamsRead: boolean): DockerAccountView {
  // Teams not read (team sync off for this connection): unknown, not none. Read and empty: none.
  const teams = !teamsRead ? null : observed.groups.filter((g) => g.members.includes(u.id)).map((g) => g.displayName).sort();
  return { id: u.id, userName: u.userName, active: u.active, role: u.role ?? null, org: u.org ?? null, team: u.team ?? null, teams };
}

/** The plan's operations that concern this person, and the team creations their memberships need. */
export function nextFor(idpId: string, plan: Plan): NextOperation[] {
  const mine = (op: Operation) => ('idpId' in op && op.idpId === idpId) || ('members' in op && op.members.some((m) => m.idpId === idpId));
  const teams = new Set(plan.operations.filter((op) => op.kind === 'team-add' && mine(op)).map((op) => ('group' in op ? op.group : '')));
  return plan.operations
    .filter((op) => mine(op) || (op.kind === 'group-create' && teams.has(op.group)))
    .map((op) => ({
      id: op.id,
      kind: op.kind,
      reason: op.reason,
      lines: 'members' in op ? op.members.filter((m) => m.idpId === idpId).map((m) => `${op.kind === 'team-add' ? '+' : '−'} ${m.userName} (${op.group})`) : changeLines(op),
      ...(op.blocked ? { blocked: op.blocked } : {}),
    }));
}

/** Findings about the person (by IdP id or userName) or about one of their groups. */
export function findingsFor(idpId: string, userName: string | null, groups: readonly string[], plan: Plan): Finding[] {
  const name = userName?.toLowerCase();
  return plan.findings.filter((f) => f.idpId === idpId || (name !== undefined && f.subject.toLowerCase() === name) || groups.includes(f.subject));
}

function journalOf(state: StateStore, idpId: string): JournalEntry[] {
  return state.journalForUser(idpId, JOURNAL_ROWS).map((r: JournalRow) => {
    const note = r.detail && typeof r.detail.note === 'string' ? r.detail.note : r.detail && typeof r.detail.message === 'string' ? r.detail.message : null;
    return { at: r.at, runId: r.runId, kind: r.kind, status: r.status, dockerId: r.dockerId, note };
  });
}
