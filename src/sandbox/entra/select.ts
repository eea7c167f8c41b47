/**
 * `$select` as Graph v1.0 applies it (entra-graph.md §1.2, gotcha 10): without `$select` an object
 * carries its type's default properties only; with it, exactly the named properties plus `id`.
 * Directory extensions (`extension_<appId>_<name>`) appear only when named, and only when they hold
 * a value. The emulator omits what was not asked for, so a reader that forgets `$select` reads
 * nothing where it expected attributes and its tests fail instead of passing by accident.
 */

export interface EntityShape {
  /** The OData type, e.g. `microsoft.graph.user` (without `#`). */
  readonly type: string;
  /** Every declared property the emulator knows, in Graph's spelling. */
  readonly properties: readonly string[];
  /** What an object carries when no `$select` is given. */
  readonly defaults: readonly string[];
  /** Whether directory extensions apply to this type (users, here). */
  readonly extensible: boolean;
}

export const USER: EntityShape = {
  type: 'microsoft.graph.user',
  properties: [
    'id',
    'accountEnabled',
    'businessPhones',
    'displayName',
    'givenName',
    'jobTitle',
    'mail',
    'mobilePhone',
    'officeLocation',
    'onPremisesExtensionAttributes',
    'otherMails',
    'preferredLanguage',
    'surname',
    'userPrincipalName',
    'userType',
  ],
  // The v1.0 default set (user-list): no accountEnabled, no onPremisesExtensionAttributes, no extensions.
  defaults: ['businessPhones', 'displayName', 'givenName', 'id', 'jobTitle', 'mail', 'mobilePhone', 'officeLocation', 'preferredLanguage', 'surname', 'userPrincipalName'],
  extensible: true,
};

export const GROUP: EntityShape = {
  type: 'microsoft.graph.group',
  properties: ['id', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled'],
  defaults: ['id', 'description', 'displayName', 'groupTypes', 'mail', 'mailEnabled', 'mailNickname', 'securityEnabled'],
  extensible: false,
};

export const SERVICE_PRINCIPAL: EntityShape = {
  type: 'microsoft.graph.servicePrincipal',
  properties: ['id', 'accountEnabled', 'appDisplayName', 'appId', 'appRoleAssignmentRequired', 'appRoles', 'displayName', 'servicePrincipalType'],
  defaults: ['id', 'accountEnabled', 'appDisplayName', 'appId', 'appRoleAssignmentRequired', 'appRoles', 'displayName', 'servicePrincipalType'],
  extensible: false,
};

export const APP_ROLE_ASSIGNMENT: EntityShape = {
  type: 'microsoft.graph.appRoleAssignment',
  properties: ['id', 'appRoleId', 'createdDateTime', 'deletedDateTime', 'principalDisplayName', 'principalId', 'principalType', 'resourceDisplayName', 'resourceId'],
  defaults: ['id', 'appRoleId', 'createdDateTime', 'deletedDateTime', 'principalDisplayName', 'principalId', 'principalType', 'resourceDisplayName', 'resourceId'],
  extensible: false,
};

/** What a request asked for: the type's defaults, or these names (canonical spelling, `id` included). */
export type Selection = { readonly kind: 'default' } | { readonly kind: 'some'; readonly names: readonly string[] };

export type SelectResult = Selection | { readonly error: string };

/**
 * Parses `$select` for a response whose objects may be any of `shapes` (a member listing holds
 * users and groups). Names are matched case-insensitively, as Graph does, and come back in Graph's
 * spelling. `extensions` are the directory extensions registered in the tenant.
 */
export function parseSelect(raw: string | null, shapes: readonly EntityShape[], extensions: readonly string[]): SelectResult {
  if (raw === null) return { kind: 'default' };
  const known = new Map<string, string>();
  for (const s of shapes) for (const p of s.properties) known.set(p.toLowerCase(), p);
  if (shapes.some((s) => s.extensible)) for (const e of extensions) known.set(e.toLowerCase(), e);
  const names = new Set<string>(['id']);
  for (const part of raw.split(',')) {
    const name = part.trim();
    if (name === '') continue;
    const canonical = known.get(name.toLowerCase());
    if (canonical === undefined) {
      // Graph's wording for both cases. Whether real Graph refuses an unregistered extension name
      // or silently omits it is undocumented (a gap); refusing is the safe side for the emulator,
      // because a typo in the reader's configuration then fails loudly instead of reading nothing.
      return name.toLowerCase().startsWith('extension_')
        ? { error: `Property '${name}' does not exist as a declared property or extension property.` }
        : { error: `Could not find a property named '${name}' on type '${shapes[0]?.type ?? 'microsoft.graph.entity'}'.` };
    }
    names.add(canonical);
  }
  return { kind: 'some', names: [...names] };
}

/**
 * The view of one object. `full` holds every property (null where unset) and any extension that
 * has a value. Declared properties that were selected come back even when null, as Graph does;
 * extensions only when they hold a value; properties of another type (a group's `displayName`
 * asked of a user listing is fine, a user's `mail` on a group item is not there) are left out.
 */
export function applySelect(full: Readonly<Record<string, unknown>>, shape: EntityShape, selection: Selection): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const names = selection.kind === 'default' ? shape.defaults : selection.names;
  for (const name of names) {
    if (shape.properties.includes(name)) out[name] = full[name] ?? null;
    else if (shape.extensible && name.startsWith('extension_') && full[name] !== undefined && full[name] !== null) out[name] = full[name];
  }
  return out;
}

/** The `(a,b)` part of an `@odata.context` for a selection, or '' for the defaults. */
export function contextSuffix(selection: Selection): string {
  return selection.kind === 'some' ? `(${selection.names.join(',')})` : '';
}
