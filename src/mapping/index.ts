export { mapSnapshot, byFinding } from './map.ts';
export { placeUser, parseTeamGroup, type RuleDefaults, type Placement } from './rules.ts';
export { isValidEmail, isValidOrg, isValidTeam } from './validate.ts';
