export { mapSnapshot, byFinding } from './map.ts';
export { connectionOf, isOrgInScope, isVerifiedDomain, orgOfTeam, type MappingPolicy } from './policy.ts';
export { placeUser, parseTeamGroup, type RuleDefaults, type Placement } from './rules.ts';
export { isValidEmail, isValidOrg, isValidTeam } from './validate.ts';
