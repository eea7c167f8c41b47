import { formatValue, subjectOf, type Operation, type OperationKind, type Plan, type TeamMember } from '../model/plan.ts';
import { countOperations } from './plan.ts';

/**
 * A reviewed plan against the plan made from the world as it is now (DESIGN.md invariant 12): the
 * reviewed plan is applied exactly as it was reviewed, or not at all. Every reviewed operation
 * must still be planned with identical content (same account, same before → after values, same
 * members, resolved the same way): then what it was reviewed against still holds. Anything the
 * fresh plan adds is left for the next review, never applied. Pure: no I/O, no clock.
 */

export interface FieldDifference {
  /** e.g. `change familyName`, `target.role`, `dockerId`, `member 00u1abc`. */
  readonly field: string;
  readonly reviewed: string;
  readonly now: string;
}

interface OperationRef {
  readonly opId: string;
  readonly kind: OperationKind;
  readonly subject: string;
}

export type PlanDifference =
  /** Reviewed, and no longer planned: what it was to change changed, or was done by someone else. */
  | (OperationRef & { readonly change: 'gone' })
  /** Reviewed, and planned now with other content. */
  | (OperationRef & { readonly change: 'changed'; readonly fields: readonly FieldDifference[] })
  /**
   * Planned now and not reviewed: a whole operation, or (with `members`) members a reviewed team
   * change did not have. Never applied from a reviewed plan.
   */
  | (OperationRef & { readonly change: 'new'; readonly members?: readonly string[] });

export type Review =
  /** `plan` is what to apply: the reviewed operations, with the fresh plan's findings and bookkeeping. */
  | { readonly verdict: 'apply'; readonly plan: Plan; readonly unreviewed: readonly PlanDifference[] }
  | { readonly verdict: 'stale'; readonly differences: readonly PlanDifference[] }
  /** The safety guard holds deactivations back and --force was not given: nothing is applied. */
  | { readonly verdict: 'held'; readonly message: string; readonly reviewedPlanTripped: boolean };

export interface ReviewOptions {
  /** --force on apply: deactivations past the thresholds go through, as with `sync --force`. */
  readonly force: boolean;
}

/** `fresh` must have been planned with `force` as given here. */
export function reviewPlan(reviewed: Plan, fresh: Plan, opts: ReviewOptions): Review {
  // A plan that tripped the guard is applied whole or not at all, and whole only when forced.
  if (reviewed.safety.tripped && !opts.force) {
    return { verdict: 'held', message: reviewed.safety.message ?? 'the safety guard tripped', reviewedPlanTripped: true };
  }

  const freshById = new Map(fresh.operations.map((o) => [o.id, o]));
  const reviewedIds = new Set(reviewed.operations.map((o) => o.id));
  const stale: PlanDifference[] = [];
  const unreviewed: PlanDifference[] = [];
  for (const op of reviewed.operations) {
    const now = freshById.get(op.id);
    if (!now) {
      stale.push({ ...refOf(op), change: 'gone' });
      continue;
    }
    const { fields, newMembers } = compareOperations(op, now);
    if (fields.length) stale.push({ ...refOf(op), change: 'changed', fields });
    if (newMembers.length) unreviewed.push({ ...refOf(now), change: 'new', members: newMembers });
  }
  for (const op of fresh.operations) if (!reviewedIds.has(op.id)) unreviewed.push({ ...refOf(op), change: 'new' });
  if (stale.length) return { verdict: 'stale', differences: [...stale, ...unreviewed] };

  // The world now trips the guard (more leavers than reviewed, or an IdP read that came back
  // empty): applying even the reviewed deactivations would be what the guard is there to stop.
  if (fresh.safety.tripped && !opts.force) {
    return { verdict: 'held', message: fresh.safety.message ?? 'the safety guard tripped', reviewedPlanTripped: false };
  }

  // --force lifts the guard's block, as it would have at plan time; DEACTIVATE=false blocks stay.
  const operations = reviewed.operations.map((op) => (op.blocked === 'safety-threshold' ? unblocked(op) : op));
  const plan: Plan = {
    ...fresh,
    operations,
    counts: { ...fresh.counts, ...countOperations(operations, fresh.findings) },
  };
  return { verdict: 'apply', plan, unreviewed };
}

/**
 * Field by field, what differs between a reviewed operation and the same operation planned now.
 * The reason is prose derived from the rest and is left out; so is a block by the safety guard,
 * which reviewPlan judges as a whole. Members only the fresh operation has are not a difference:
 * the reviewed operation is applied without them.
 */
export function compareOperations(reviewed: Operation, now: Operation): { fields: FieldDifference[]; newMembers: string[] } {
  const before = fieldsOf(reviewed);
  const after = fieldsOf(now);
  const fields: FieldDifference[] = [];
  const newMembers: string[] = [];
  for (const key of new Set([...before.keys(), ...after.keys()])) {
    const r = before.get(key);
    const n = after.get(key);
    if (r === n) continue;
    if (r === undefined && key.startsWith(MEMBER)) {
      newMembers.push(memberNames(now).get(key) ?? key.slice(MEMBER.length));
      continue;
    }
    fields.push({ field: key, reviewed: r ?? '(none)', now: n ?? '(none)' });
  }
  return { fields, newMembers };
}

const MEMBER = 'member ';

/** An operation as named values, one per thing a reviewer saw, in a stable order. */
function fieldsOf(op: Operation): Map<string, string> {
  const out = new Map<string, string>();
  const blocked = op.blocked === 'safety-threshold' ? undefined : op.blocked;
  for (const [key, value] of Object.entries(op)) {
    if (key === 'id' || key === 'reason' || key === 'blocked' || value === undefined) continue;
    if (key === 'target' && isRecord(value)) {
      for (const [k, v] of Object.entries(value)) out.set(`target.${k}`, show(v));
    } else if (key === 'changes' && Array.isArray(value)) {
      for (const c of value as Array<{ field: string; before: unknown; after: unknown; drift?: boolean }>) {
        out.set(`change ${c.field}`, `${show(c.before)} → ${show(c.after)}${c.drift ? ' (drift)' : ''}`);
      }
    } else if (key === 'members' && Array.isArray(value)) {
      for (const m of value as TeamMember[]) out.set(`${MEMBER}${m.idpId}`, describeMember(m));
    } else {
      out.set(key, show(value));
    }
  }
  out.set('blocked', blocked ?? '(none)');
  return out;
}

function describeMember(m: TeamMember): string {
  const account = m.dockerId ?? 'the account its create makes';
  return `${m.userName} → ${account}${m.fromOperation ? ` once ${m.fromOperation} succeeds` : ''}`;
}

function memberNames(op: Operation): Map<string, string> {
  return new Map('members' in op ? op.members.map((m) => [`${MEMBER}${m.idpId}`, m.userName]) : []);
}

function refOf(op: Operation): OperationRef {
  return { opId: op.id, kind: op.kind, subject: subjectOf(op) };
}

function unblocked<T extends Operation>(op: T): T {
  const { blocked: _lifted, ...rest } = op;
  return rest as T;
}

function show(v: unknown): string {
  if (v === null || v === undefined || typeof v === 'string' || typeof v === 'boolean') return formatValue(v);
  return JSON.stringify(v);
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}
