import { MAX_EMAIL_LENGTH, isEmailAddress } from '../model/docker.ts';

/**
 * What counts as a valid value on Docker's side. Docker documents none of these limits, so each is
 * a conservative choice: a value outside them is reported and held back, never truncated or guessed.
 */

export { MAX_EMAIL_LENGTH };
/** Docker does not document name limits; 255 is the common SQL column width behind SCIM services. */
export const MAX_NAME_LENGTH = 255;
export const MAX_TEAM_LENGTH = 255;
export const MAX_ORG_LENGTH = 255;

/** Docker namespaces (organization names) are lowercase; separators as in image namespaces. */
const ORG = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/** Team names: letters, digits and inner separators; no spaces, no colon (it splits org:team). */
const TEAM = /^[A-Za-z0-9]+(?:[._-]+[A-Za-z0-9]+)*$/;

// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f]/;

/** The WHATWG HTML email pattern, at most 254 characters (model/docker.ts isEmailAddress says why). */
export function isValidEmail(v: string): boolean {
  return isEmailAddress(v);
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
