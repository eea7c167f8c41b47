export { buildPlan, type PlanInput, type PlanOptions } from './plan.ts';
export { judgeSafety } from './safety.ts';
