export { mapSnapshot, byFinding } from './map.ts';
export { connectionOf, isOrgInScope, isVerifiedDomain, orgOfTeam, type MappingPolicy } from './policy.ts';
export { placeUser, parseTeamGroup, PLACEMENT_ROWS, type RuleDefaults, type Placement, type PlacementRow } from './rules.ts';
export { isValidEmail, isValidOrg, isValidTeam } from './validate.ts';
