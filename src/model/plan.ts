import type { UserAttributes } from './docker.ts';
import type { Finding } from './finding.ts';
import type { SourceKind } from './idp.ts';
import type { LinkOrigin } from './link.ts';

/**
 * A plan is plain data: JSON-serialisable, in a stable order, each operation with its reason.
 * Reports render it, the executor applies it, and neither changes it.
 */
export const PLAN_SCHEMA_VERSION = 1;

export type UserField = 'userName' | 'givenName' | 'familyName' | 'active' | 'role' | 'org' | 'team' | 'email';

export interface Change {
  readonly field: UserField;
  /** null when unknown or unset (e.g. Docker did not echo the extension). */
  readonly before: string | boolean | null;
  readonly after: string | boolean | null;
  /** True when Docker's value differs from what this tool last applied: changed behind its back. */
  readonly drift?: boolean;
}

/** Why an operation is in the plan but will not be applied this run. */
export type BlockReason = 'safety-threshold' | 'deactivation-disabled' | 'last-owner';

interface OperationBase {
  /** Stable within a plan and across re-plans of the same change, e.g. `update:00u1abc`. */
  readonly id: string;
  readonly reason: string;
  readonly blocked?: BlockReason;
}

export interface CreateOperation extends OperationBase {
  readonly kind: 'create';
  readonly idpId: string;
  readonly userName: string;
  readonly target: UserAttributes;
}

/** Links an existing Docker account (matched by userName) and makes it match the IdP. */
export interface AdoptOperation extends OperationBase {
  readonly kind: 'adopt';
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
  readonly changes: readonly Change[];
  readonly target: UserAttributes;
}

export interface UpdateOperation extends OperationBase {
  readonly kind: 'update' | 'reactivate' | 'deactivate';
  readonly idpId: string;
  readonly dockerId: string;
  readonly userName: string;
  readonly changes: readonly Change[];
  readonly target: UserAttributes;
}

export interface GroupCreateOperation extends OperationBase {
  readonly kind: 'group-create';
  readonly group: string;
  /**
   * The id of the IdP group that makes this team, when one does (not for a team only dockerTeam
   * names). Sent as the team's externalId, as Docker's Entra mapping sends objectId.
   */
  readonly externalId?: string;
}

/**
 * Whose account a team change goes to, resolved by the planner so the executor needs nothing
 * beside the plan. Without `fromOperation` the account is the user's own linked account now, and
 * `dockerId` names it. With it, the account comes from that create or adopt in this plan: the
 * change goes to the id that operation's result gives (and, for an adoption, only if it is the
 * `dockerId` planned), and to nobody if it failed: a failed adoption, or a link the plan disowned,
 * leaves no account of this user's to touch.
 */
export interface TeamMember {
  readonly idpId: string;
  readonly userName: string;
  /** null for a user this plan creates: the executor fills it in from the create's result. */
  readonly dockerId: string | null;
  /** Id of the `create` or `adopt` operation of this plan that must succeed first, e.g. `create:00u1abc`. */
  readonly fromOperation?: string;
}

export interface TeamOperation extends OperationBase {
  readonly kind: 'team-add' | 'team-remove';
  readonly group: string;
  /** null when the group does not exist yet (created earlier in the same plan). */
  readonly groupId: string | null;
  readonly members: readonly TeamMember[];
}

export type UserOperation = CreateOperation | AdoptOperation | UpdateOperation;
export type Operation = UserOperation | GroupCreateOperation | TeamOperation;
export type OperationKind = Operation['kind'];

export const OPERATION_KINDS: readonly OperationKind[] = [
  'group-create',
  'create',
  'adopt',
  'reactivate',
  'update',
  'team-add',
  'team-remove',
  'deactivate',
];

export interface SafetyVerdict {
  readonly deactivations: number;
  readonly managedUsers: number;
  readonly maxDeactivations: number;
  readonly maxDeactivationPercent: number;
  readonly tripped: boolean;
  readonly forced: boolean;
  /** Deactivations are planned and reported but not applied (DEACTIVATE=false). */
  readonly deactivationDisabled: boolean;
  readonly message: string | null;
}

export interface PlanCounts {
  readonly idpUsers: number;
  readonly desiredActive: number;
  readonly dockerUsers: number;
  readonly managed: number;
  readonly operations: Readonly<Record<OperationKind, number>>;
  readonly blocked: number;
  readonly findings: Readonly<Record<'error' | 'warning' | 'info', number>>;
}

/**
 * Teams a managed user is already in, as the IdP wants, that the state store does not yet record
 * as applied (an adopted account's existing memberships, say). Recording them keeps those teams
 * managed, so the membership is removed when the IdP later drops it. Not an operation: nothing is
 * sent to Docker for them.
 */
export interface MembershipRecord {
  readonly idpId: string;
  readonly teams: readonly string[];
  /** As for TeamMember: recorded only once this adoption has succeeded. */
  readonly fromOperation?: string;
}

export interface Plan {
  readonly schemaVersion: typeof PLAN_SCHEMA_VERSION;
  readonly source: SourceKind;
  readonly operations: readonly Operation[];
  readonly memberships: readonly MembershipRecord[];
  readonly findings: readonly Finding[];
  readonly safety: SafetyVerdict;
  readonly counts: PlanCounts;
  /** What the plan was made from; absent in plans saved before incremental runs existed (full). */
  readonly coverage?: PlanCoverage;
}

/**
 * full: everyone assigned in the IdP and every Docker account were read. incremental: only the IdP
 * users the change feed named since the last run, and the Docker accounts they have or name; or,
 * with `targeted`, the users asked for by email (`sync --user`), the feed left where it was.
 */
export type PlanCoverage =
  | { readonly mode: 'full'; /** Why a run meant to be incremental read everything. */ readonly reason?: string }
  | {
      readonly mode: 'incremental';
      /** IdP users read afresh. */
      readonly users: number;
      /** Docker was listed whole (VERIFY_EVERY). */
      readonly dockerListed: boolean;
      /** The emails `sync --user` asked for; absent when the change feed chose the users. */
      readonly targeted?: readonly string[];
    };

/** What an operation is about: the user's userName, or the team's name. */
export function subjectOf(op: Operation): string {
  return 'userName' in op ? op.userName : op.group;
}

/** A value as reports and findings show it: strings quoted, unset values named. */
export function formatValue(v: string | boolean | null | undefined): string {
  if (v === null || v === undefined) return '(unset)';
  if (typeof v === 'boolean') return String(v);
  return JSON.stringify(v);
}

/** A link the executor records after a create or adopt. */
export interface LinkRecord {
  readonly idpId: string;
  readonly dockerId: string;
  readonly origin: LinkOrigin;
}
