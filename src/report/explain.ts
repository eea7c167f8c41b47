import type { Finding } from '../model/finding.ts';
import type { MappingTrace, SourceKind } from '../model/idp.ts';
import type { LinkOrigin } from '../model/link.ts';
import type { OperationKind } from '../model/plan.ts';
import { TOOL_VERSION } from '../version.ts';

/**
 * `explain EMAIL`, in words (text) or as data (JSON): for each IdP user the email stands for, how
 * the IdP gives them access and each value, what Docker holds, what the next sync would do and
 * why, and what this tool last did to their account. Pure formatting of what run/explain.ts found.
 */

export const EXPLAIN_FORMAT = 'docker-idp-sync/explain';
export const EXPLAIN_VERSION = 1;

export interface Explanation {
  /** The email asked about, as typed. */
  readonly email: string;
  readonly source: SourceKind;
  readonly generatedAt: string;
  /** Everyone the email stands for: usually one person; two when, say, a leaver and a rehire share it. */
  readonly people: readonly PersonExplanation[];
  /** Writes a previous run left unconfirmed: the next full sync recovers them first, and may plan otherwise. */
  readonly interruptedWrites: number;
}

export interface PersonExplanation {
  readonly idpId: string;
  readonly userName: string | null;
  readonly name: string | null;
  /** How the IdP places them; null when they are not assigned to the Docker app (or gone from the IdP). */
  readonly idp: MappingTrace | null;
  readonly docker: DockerHolding;
  /** The operations the next sync would send that concern them, in the order they would be sent. */
  readonly next: readonly NextOperation[];
  /** The plan's findings about them (or about a group of theirs). */
  readonly findings: readonly Finding[];
  /** Their last operations from the state file's journal, newest first. */
  readonly journal: readonly JournalEntry[];
}

export interface DockerAccountView {
  readonly id: string;
  readonly userName: string;
  readonly active: boolean;
  /** As Docker echoed them; null when it echoed nothing (the planner then uses what it last applied). */
  readonly role: string | null;
  readonly org: string | null;
  readonly team: string | null;
  /** The teams whose members include the account; null when team sync is off for this connection. */
  readonly teams: readonly string[] | null;
}

export type DockerHolding =
  /** The account this tool linked them to; `account` null when Docker no longer has it. */
  | { readonly kind: 'linked'; readonly origin: LinkOrigin; readonly dockerId: string; readonly account: DockerAccountView | null }
  /** Not linked, and an account has their userName: adopted by the next sync unless another link holds it. */
  | { readonly kind: 'match'; readonly account: DockerAccountView; readonly heldBy: string | null }
  | { readonly kind: 'none' };

export interface NextOperation {
  readonly id: string;
  readonly kind: OperationKind;
  readonly reason: string;
  /** before → after, as the report prints it, narrowed to this person for a team change. */
  readonly lines: readonly string[];
  readonly blocked?: string;
}

export interface JournalEntry {
  readonly at: string;
  readonly runId: string;
  readonly kind: string;
  readonly status: string;
  readonly dockerId: string | null;
  readonly note: string | null;
}

export function explainJson(e: Explanation): string {
  return `${JSON.stringify({ format: EXPLAIN_FORMAT, version: EXPLAIN_VERSION, toolVersion: TOOL_VERSION, ...e }, null, 2)}\n`;
}

export function explainText(e: Explanation): string {
  const out: string[] = [`docker-idp-sync ${TOOL_VERSION} · explain ${e.email} · source ${e.source} · ${e.generatedAt} · a dry run: nothing was written`];
  if (e.interruptedWrites > 0) {
    out.push(`! a previous run left ${e.interruptedWrites} write${e.interruptedWrites === 1 ? '' : 's'} unconfirmed: the next full sync recovers ${e.interruptedWrites === 1 ? 'it' : 'them'} first, and its plan may differ from this one`);
  }
  for (const p of e.people) out.push('', ...personText(p, e.source));
  return `${out.join('\n')}\n`;
}

const IDP_NAME: Record<SourceKind, string> = { okta: 'Okta', entra: 'Entra ID' };

function personText(p: PersonExplanation, source: SourceKind): string[] {
  const who = [p.name, p.userName ? `<${p.userName}>` : null].filter(Boolean).join(' ') || '(no name)';
  const out = [`${who} · ${IDP_NAME[source]} user ${p.idpId}`, '', `In ${IDP_NAME[source]}`];
  const t = p.idp;
  if (t === null) {
    out.push(`  not assigned to the Docker app (or gone from ${IDP_NAME[source]}): this tool ${p.docker.kind === 'linked' ? 'deactivates the account it manages' : 'has nothing to do for them'}`);
  } else {
    out.push(`  assigned   ${t.assignment}`);
    out.push(`  active     ${t.active.value ? 'yes' : 'no'} (${t.active.from})`);
    const value = (v: string | null) => v ?? (t.placed ? '(none)' : '(held)');
    out.push(`  role       ${value(t.role.value)} ← ${t.role.from}`);
    out.push(`  org        ${value(t.org.value)} ← ${t.org.from}`);
    out.push(`  team       ${value(t.team.value)} ← ${t.team.from}`);
    out.push(`  rule       ${t.row === null ? '' : `row ${t.row} of Docker's table: `}${t.rowRule}`);
    if (t.teams.length === 0) out.push('  teams      none');
    t.teams.forEach((x, i) => out.push(`  ${i === 0 ? 'teams     ' : '          '} ${x.team} ← ${x.from}`));
    for (const g of t.otherGroups) out.push(`  group      ${g.group}: ${g.why}`);
    if (!t.placed) out.push('  held       not written to Docker until the findings below are fixed');
  }

  out.push('', 'In Docker');
  out.push(`  ${holdingText(p.docker)}`);

  out.push('', 'Next sync');
  if (p.next.length === 0) out.push(t === null ? '  nothing' : t.placed ? '  nothing: Docker matches' : '  nothing: the user is held (see the findings)');
  for (const op of p.next) {
    out.push(`  ${op.kind}${op.blocked ? ` (blocked: ${op.blocked})` : ''}: ${op.lines.join('; ')}`);
    out.push(`    because ${op.reason}`);
  }

  if (p.findings.length) {
    out.push('', 'Findings');
    for (const f of p.findings) out.push(`  ${f.severity} ${f.code}: ${f.message}${f.advice ? `\n    → ${f.advice}` : ''}`);
  }

  out.push('', 'Journal (newest first)');
  if (p.journal.length === 0) out.push("  none: this tool has not written to this person's account");
  for (const j of p.journal) out.push(`  ${j.at}  run ${j.runId}  ${j.kind} ${j.status}${j.dockerId ? ` (Docker ${j.dockerId})` : ''}${j.note ? `: ${j.note}` : ''}`);
  return out;
}

function holdingText(h: DockerHolding): string {
  switch (h.kind) {
    case 'none':
      return 'no account with this userName, and no link: the next sync creates one if they are assigned';
    case 'linked':
      return h.account
        ? `account ${h.dockerId} (${h.origin} by this tool): ${accountText(h.account)}`
        : `account ${h.dockerId} (${h.origin} by this tool) is gone from Docker: the next sync re-creates it, or adopts an account with the userName`;
    case 'match':
      return h.heldBy
        ? `account ${h.account.id} has this userName but is linked to another IdP user (${h.heldBy}): left alone`
        : `account ${h.account.id} has this userName and no link: the next sync adopts it (ADOPT_EXISTING) · ${accountText(h.account)}`;
  }
}

function accountText(a: DockerAccountView): string {
  const parts = [a.active ? 'active' : 'inactive', `role ${a.role ?? '(not echoed)'}`, `org ${a.org ?? '(not echoed)'}`, `team ${a.team ?? '(none)'}`];
  parts.push(a.teams === null ? 'teams not read (team sync is off)' : `teams ${a.teams.length ? a.teams.join(', ') : 'none'}`);
  return parts.join(', ');
}
