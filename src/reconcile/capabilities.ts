import type { DockerCapabilities } from '../model/docker.ts';

/**
 * Whether this run syncs teams, from what Docker's connection says it offers and DOCKER_TEAM_SYNC.
 *
 * Docker's public API reference documents only `/Users`, and its example ServiceProviderConfig
 * says PATCH is not supported; yet the connections Okta and Entra provision through serve
 * `/Groups` and accept PATCH on it (docker-scim.md §2: the example's `patch: false` is not to be
 * trusted alone). So `auto` skips teams only on evidence that the connection has none: `/Groups`
 * answering 404, or PATCH said to be unsupported together with ResourceTypes that list no Group.
 * Either way users still sync (with the team their own attributes name, in Docker's extension);
 * what is never done instead is a whole-group PUT, which would drop members this tool does not
 * manage.
 */

export type TeamSyncMode = 'auto' | 'on' | 'off';

export type TeamSync = { readonly sync: true } | { readonly sync: false; readonly reason: string };

export function decideTeamSync(caps: DockerCapabilities, mode: TeamSyncMode): TeamSync {
  if (mode === 'off') return { sync: false, reason: 'DOCKER_TEAM_SYNC=off' };
  if (caps.groups === 'absent') return { sync: false, reason: "Docker's SCIM connection has no /Groups endpoint (GET /Groups answered 404)" };
  if (mode === 'on') return { sync: true };
  const listsTypes = caps.resourceTypes.length > 0;
  if (caps.patch === false && listsTypes && !caps.resourceTypes.some((t) => t.toLowerCase() === 'group')) {
    return { sync: false, reason: "Docker's ServiceProviderConfig says PATCH is not supported and its ResourceTypes list no Group" };
  }
  return { sync: true };
}
