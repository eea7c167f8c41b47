/**
 * What counts as a valid value on Docker's side. Docker documents none of these limits, so each is
 * a conservative choice: a value outside them is reported and held back, never truncated or guessed.
 */

/** RFC 5321 caps a forward path at 254 characters. */
export const MAX_EMAIL_LENGTH = 254;
/** Docker does not document name limits; 255 is the common SQL column width behind SCIM services. */
export const MAX_NAME_LENGTH = 255;
export const MAX_TEAM_LENGTH = 255;
export const MAX_ORG_LENGTH = 255;

/**
 * The WHATWG HTML email pattern: what browsers accept in <input type=email>. It rejects quotes,
 * backslashes and spaces, so a userName that passes can never break a SCIM filter string, and it
 * rejects non-ASCII (IDN) addresses, which Docker's "must be reachable via email" does not promise.
 */
const EMAIL = /^[a-zA-Z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)+$/;

/** Docker namespaces (organization names) are lowercase; separators as in image namespaces. */
const ORG = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Team names: letters, digits and inner separators; no spaces, no colon (it splits org:team). */
const TEAM = /^[A-Za-z0-9]+(?:[._-]+[A-Za-z0-9]+)*$/;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

export function isValidEmail(v: string): boolean {
  return v.length <= MAX_EMAIL_LENGTH && EMAIL.test(v);
}

export function isValidOrg(v: string): boolean {
  return v.length <= MAX_ORG_LENGTH && ORG.test(v);
}

export function isValidTeam(v: string): boolean {
  return v.length <= MAX_TEAM_LENGTH && TEAM.test(v);
}

export function hasControlCharacters(v: string): boolean {
  return CONTROL.test(v);
}

/** Shortens a value for a report line, so a 10 kB attribute cannot flood the report. */
export function preview(v: string, max = 60): string {
  const shown = v.length > max ? `${v.slice(0, max)}… (${v.length} characters)` : v;
  return JSON.stringify(shown);
}
