import { ExpressionError, parseExpression, type Grammar } from './expression.ts';

/**
 * The System Log's `filter` expressions, as far as the Docker sync and its tests need them
 * (okta.md §1.4): comparisons `eq`, `sw` and `co` on the event type, the targets and the actor,
 * in the language of expression.ts. Okta documents that a filter may not use `published` (the time
 * bounds are `since` and `until`); that, an unknown attribute or operator, and a malformed
 * expression are refused, as Okta refuses them with 400.
 */

/** The parts of an event a filter can look at. */
export interface FilterableEvent {
  readonly eventType: string;
  readonly legacyEventType: string;
  readonly severity: string;
  readonly actor: { readonly id: string; readonly alternateId: string };
  readonly target: readonly { readonly id: string; readonly type: string; readonly alternateId: string }[];
}

export type LogFilter = (event: FilterableEvent) => boolean;

export class LogFilterError extends Error {}

const GRAMMAR: Grammar<FilterableEvent> = {
  attributes: {
    eventtype: (e) => [e.eventType],
    legacyeventtype: (e) => [e.legacyEventType],
    severity: (e) => [e.severity],
    'actor.id': (e) => [e.actor.id],
    'actor.alternateid': (e) => [e.actor.alternateId],
    // A target attribute matches when any of the event's targets has it.
    'target.id': (e) => e.target.map((t) => t.id),
    'target.type': (e) => e.target.map((t) => t.type),
    'target.alternateid': (e) => e.target.map((t) => t.alternateId),
  },
  operators: {
    eq: (v, w) => v === w,
    sw: (v, w) => v.startsWith(w),
    co: (v, w) => v.includes(w),
  },
  refuse: (attribute) => (attribute === 'published' ? 'filters may not use published; use since and until' : null),
};

/** Parses a filter, or throws LogFilterError saying what is wrong with it. */
export function parseLogFilter(text: string): LogFilter {
  try {
    return parseExpression(text, GRAMMAR);
  } catch (err) {
    if (err instanceof ExpressionError) throw new LogFilterError(err.message === 'empty expression' ? 'empty filter' : err.message);
    throw err;
  }
}
