import { graphServiceUnavailable } from '../../src/sandbox/entra/faults.ts';
import { oktaServerError } from '../../src/sandbox/okta/faults.ts';
import type { World, WorldOptions, WorldSource } from '../../src/sandbox/world.ts';

/**
 * The few things a scenario says differently per IdP. Everything else in the end-to-end suites is
 * written once and runs for both sources.
 */

export const IDP_NAME: Record<WorldSource, string> = { okta: 'Okta', entra: 'Entra ID' };

/** The IdP credential the tool is configured with. */
export const IDP_SECRET_ENV: Record<WorldSource, string> = { okta: 'OKTA_API_TOKEN', entra: 'ENTRA_CLIENT_SECRET' };

/** Configuration naming another app of the same IdP (the state file must refuse it). */
export const OTHER_APP_ENV: Record<WorldSource, Record<string, string>> = {
  okta: { OKTA_APP_ID: '0oaanotherapp' },
  entra: { ENTRA_APP_ID: '99999999-8888-4777-8666-555555555555' },
};

/** World options that make the IdP's user listing come in pages small enough to fault page 3 of 1,100 users. */
export function pagedWorld(source: WorldSource): WorldOptions {
  return source === 'entra' ? { source, entra: { pageSize: 500 } } : { source };
}

/** From now on, every request for page `page` of the IdP's main user listing fails with a 503. */
export function failIdpListingPage(world: World, page: number): { route: string } {
  const route = world.source === 'entra' ? 'appRoleAssignedTo' : 'listAppUsers';
  world.idp.faults.add({ route, page, times: Infinity, action: world.source === 'entra' ? graphServiceUnavailable(0) : oktaServerError(503) });
  return { route };
}
