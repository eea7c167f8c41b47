import type { DesiredUser } from '../model/desired.ts';
import type { DockerUser } from '../model/docker.ts';
import type { Finding } from '../model/finding.ts';
import type { Link } from '../model/link.ts';
import type { LinkView } from './links.ts';
import { wantsAccess, type Roster } from './roster.ts';

/**
 * Which Docker account an IdP user is about, active or not: their own linked account, or the
 * account that has their userName, and whether another user of this plan keeps or takes it first.
 * Both user phases (assigned users, then leavers) start here; what they do with the answer differs.
 */

/** What every user phase reads: the IdP's name for messages, who it wants, and the links. */
export interface PhaseContext {
  readonly idp: string;
  readonly roster: Roster;
  readonly view: LinkView;
}

export type Match = { readonly findings: readonly Finding[] } & (
  /** Their linked account, still theirs and not yet claimed in this plan. */
  | { readonly kind: 'linked'; readonly link: Link; readonly account: DockerUser }
  /** Their linked account was claimed earlier in this plan (a rehire took over a leaver's account). */
  | { readonly kind: 'linked-claimed' }
  /** No Docker account has their userName. `gone` prefixes a reason when their linked account vanished. */
  | { readonly kind: 'no-account'; readonly gone: string }
  /** The account with their userName is kept or taken by another IdP user; the findings say which. */
  | { readonly kind: 'name-taken' }
  /** An account with their userName that nobody else keeps: unlinked, or linked to someone who no longer wants access. */
  | { readonly kind: 'existing'; readonly account: DockerUser; readonly owner: Link | undefined; readonly gone: string }
);

/** `claimed`: Docker ids earlier users of this plan keep or bring under management. */
export function matchAccount(d: DesiredUser, ctx: PhaseContext, claimed: ReadonlySet<string>): Match {
  const { roster, view } = ctx;
  const findings: Finding[] = [];
  const link = view.linkByIdp.get(d.idpId);
  let linked = link ? view.accountById.get(link.dockerId) : undefined;

  // The linked id now answers for another userName than the one this tool last wrote and the
  // one the IdP wants: it is someone else's account now (or Docker reused the id). It is not
  // touched; this user is re-linked by userName or re-created, as if the account were gone.
  if (link && linked && view.disowned.has(linked.id)) {
    findings.push({
      code: 'LINKED_ACCOUNT_CHANGED',
      severity: 'warning',
      subject: d.userName,
      idpId: d.idpId,
      dockerId: linked.id,
      message: `the Docker account this tool linked (${linked.id}) now has userName ${linked.userName}, not ${link.userName}; it is no longer treated as this user's account and is left alone`,
      advice: 'check who changed the account in Docker; the plan re-links this user by userName or re-creates the account',
    });
    linked = undefined;
  }

  if (link && linked) {
    return claimed.has(linked.id) ? { kind: 'linked-claimed', findings } : { kind: 'linked', link, account: linked, findings };
  }

  let gone = '';
  if (link && !view.accountById.has(link.dockerId)) {
    gone = `the linked Docker account ${link.dockerId} (${link.userName}) no longer exists; `;
    findings.push({
      code: 'LINKED_ACCOUNT_GONE',
      severity: 'warning',
      subject: d.userName,
      idpId: d.idpId,
      dockerId: link.dockerId,
      message: `the Docker account this tool linked (${link.dockerId}) is gone from Docker`,
      advice: d.active ? 'nothing to do: the plan re-creates the account, or adopts one with the same userName' : 'nothing to do: the user is inactive in the IdP',
    });
  }

  const candidate = view.accountByName.get(d.userName.toLowerCase());
  if (!candidate) return { kind: 'no-account', gone, findings };

  const owner = view.disowned.has(candidate.id) ? undefined : view.linkByDocker.get(candidate.id);
  const heldByOther = owner !== undefined && owner.idpId !== d.idpId && wantsAccess(roster, owner);
  if (claimed.has(candidate.id) || heldByOther) {
    // Another user of this plan keeps or takes this account. If that user's rename is moving the
    // email away (an email handed on), this one waits a run for it; otherwise two IdP users claim
    // one account, which only the IdP can settle.
    if (view.vacating.has(candidate.id) || !heldByOther) {
      if (d.active) {
        findings.push({
          code: 'USERNAME_PENDING',
          severity: 'info',
          subject: d.userName,
          idpId: d.idpId,
          dockerId: candidate.id,
          message: `the userName is still held by Docker account ${candidate.id}, which this run keeps for another IdP user or renames; this user is created on the next run`,
          advice: 'nothing to do; if it persists, two IdP users share this email',
        });
      }
    } else {
      findings.push({
        code: 'USERNAME_CONFLICT',
        severity: 'error',
        subject: d.userName,
        idpId: d.idpId,
        dockerId: candidate.id,
        message: `Docker account ${candidate.userName} is already linked to IdP user ${owner?.idpId}, who is still assigned`,
        advice: 'two IdP users claim one Docker account: fix the email of one of them in the IdP',
      });
    }
    return { kind: 'name-taken', findings };
  }
  return { kind: 'existing', account: candidate, owner, gone, findings };
}
