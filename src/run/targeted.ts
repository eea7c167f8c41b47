import { AppError } from '../model/errors.ts';
import type { Source } from '../model/idp.ts';
import type { Plan } from '../model/plan.ts';
import type { StateStore } from '../state/store.ts';
import { makePlan, sourceFindings } from './make-plan.ts';
import type { ObserveDeps, ObserveOptions, Observed, RunCtx } from './observe.ts';
import { accountedFor, lookUpScoped, planScope, scopedSnapshot } from './scoped.ts';

/**
 * A targeted run: one person, or a few, now (`sync --user EMAIL`, Docker's "provision on demand"),
 * and `explain`'s dry run. Each email is found in the state file's links and in the IdP; the users
 * are then read afresh and reconciled exactly as an incremental run reconciles the users its change
 * feed names (run/scoped.ts), with the same guards. The feed itself is neither read nor moved: the
 * next incremental run still sees every change since the last one.
 */

export interface Targets {
  /** The emails asked for, trimmed, each once (the first spelling kept). */
  readonly emails: readonly string[];
  /** The IdP user ids they stand for, sorted, each once. */
  readonly ids: readonly string[];
  /** Lower-cased email → the IdP user ids it stands for. */
  readonly byEmail: ReadonlyMap<string, readonly string[]>;
}

/** An email that names nobody, in the IdP or in the state file. */
export class UnknownPersonError extends AppError {}

/** `sync --user` while writes of an earlier run are unconfirmed. */
export class TargetedRefusedError extends AppError {}

/**
 * Who the emails stand for: the links whose userName is one of them (a person the IdP now names
 * by another email, or no longer has) and the IdP users whose login or email is one of them
 * (assigned or not). An email found nowhere stops the run before anything is written.
 */
export async function resolveTargets(deps: { readonly source: Source; readonly state: StateStore }, asked: readonly string[], signal?: AbortSignal): Promise<Targets> {
  const emails: string[] = [];
  for (const raw of asked) {
    const e = raw.trim();
    if (e !== '' && !emails.some((x) => x.toLowerCase() === e.toLowerCase())) emails.push(e);
  }
  const byEmail = new Map<string, Set<string>>(emails.map((e) => [e.toLowerCase(), new Set<string>()]));
  for (const l of deps.state.linksByUserName(emails)) byEmail.get(l.userName.toLowerCase())?.add(l.idpId);
  const found = await deps.source.findUserIds(emails, signal);
  for (const [email, ids] of found) for (const id of ids) byEmail.get(email)?.add(id);

  const missing = emails.filter((e) => (byEmail.get(e.toLowerCase())?.size ?? 0) === 0);
  if (missing.length) {
    const system = deps.source.kind === 'okta' ? 'Okta' : 'Entra ID';
    throw new UnknownPersonError(`${missing.map((e) => JSON.stringify(e)).join(', ')}: no user with ${missing.length === 1 ? 'this email' : 'these emails'} in ${system}, and no Docker account this tool manages; nothing was done`, {
      system: deps.source.kind,
      operation: 'find the users asked for by email',
      hint: deps.source.kind === 'okta' ? "check the spelling: it is matched against the Okta user's login and email (the Docker userName)" : "check the spelling: it is matched against the Entra user's userPrincipalName and mail (the Docker userName)",
    });
  }
  const ids = [...new Set([...byEmail.values()].flatMap((s) => [...s]))].sort();
  return { emails, ids, byEmail: new Map([...byEmail].map(([e, s]) => [e, [...s].sort()])) };
}

/**
 * Writes an earlier run left unconfirmed are recovered by matching all of Docker against the
 * journal (reconcile/recover.ts); a run that looks at a few accounts cannot do that, and planning
 * around them could repeat a create that did reach Docker.
 */
export function refuseWhileInterrupted(state: StateStore): void {
  const left = state.interruptedWrites().length;
  if (left === 0) return;
  throw new TargetedRefusedError(`a previous run left ${left} write${left === 1 ? '' : 's'} to Docker unconfirmed; \`sync --user\` reads a few accounts, and recovering ${left === 1 ? 'it' : 'them'} needs all of Docker; nothing was done`, {
    system: 'state',
    operation: 'sync --user',
    hint: 'run `sync` first (a full run recovers the interrupted writes from the journal), then `sync --user` again',
  });
}

/** The targeted run's plan: these users read afresh, their Docker accounts looked up, planned within their scope. */
export async function observeTargeted(deps: ObserveDeps, targets: Targets, opts: ObserveOptions, ctx: RunCtx): Promise<Observed> {
  const { state, source } = deps;
  const feed = source.feed;
  if (!feed) throw new AppError(`${source.kind}: this source cannot read users one by one`, { system: source.kind, operation: 'read the users asked for', hint: 'run `sync` (everyone) instead' });
  const { ids } = targets;
  const t0 = performance.now();
  const read = await feed.readUsers(ids, opts.signal);
  accountedFor(ids, read, source.kind);
  ctx.reads.idpMs = Math.round(performance.now() - t0);
  const snapshot = scopedSnapshot(source.kind, read, read.stats);
  const { observed, links } = await lookUpScoped(deps, ctx, ids, read, null);
  ctx.readDone();
  ctx.log.info(
    { asked: targets.emails.length, idpUsers: read.users.length, unassigned: read.unassigned.length, idpRequests: snapshot.stats.requests, dockerUsers: observed.users.length },
    `targeted read: ${ids.length} user${ids.length === 1 ? '' : 's'} for ${targets.emails.join(', ')}`,
  );
  const made = makePlan(deps, opts, { snapshot, links, observed, teams: ctx.teams, findings: sourceFindings(snapshot), scope: planScope(state, ids, state.linkCount(), false) });
  const plan: Plan = { ...made, coverage: { mode: 'incremental', users: ids.length, dockerListed: false, targeted: targets.emails } };
  ctx.log.info({ operations: plan.operations.length, findings: plan.findings.length, safety: plan.safety.tripped ? 'tripped' : 'ok' }, 'plan ready');
  // No `feed`: the cursor, fullAt and verifiedAt stay as the last run left them.
  return { plan, recovered: [], memory: { looked: new Set(ids), teamSources: null }, view: { snapshot, observed, links, groupNames: read.groupNames ?? new Map(), teamsRead: ctx.teams.sync } };
}
