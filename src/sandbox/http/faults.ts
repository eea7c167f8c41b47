/**
 * Fault switches shared by every emulator. A test arms a rule; the emulator consults the rules on
 * each request and, when one matches, answers with the fault instead of (or after) the real handler.
 */

export type FaultAction =
  /** Answer with this status and body instead of the real response. Emulators build realistic bodies and headers (see their own helpers). */
  | { type: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Wait, then answer normally (or with the next matching fault). */
  | { type: 'delay'; ms: number }
  /** Close the connection without an answer (a reset as the client sees it). */
  | { type: 'drop' }
  /** Answer 200 with a body cut off halfway, as a broken proxy would. */
  | { type: 'truncate' };

export interface FaultRule {
  /** Route name as the emulator registered it (e.g. "listAppUsers"); any route when absent. */
  route?: string;
  method?: string;
  /** 1-based page number of a paged listing; only routes that report their page match. */
  page?: number;
  /** Skip this many matching requests before the fault starts (e.g. fail the 3rd create: skip 2). */
  skip?: number;
  /** How many times the fault fires; Infinity for "until cleared". Default 1. */
  times?: number;
  /**
   * 'before' (default) answers without running the handler; 'after' runs it first, so the write
   * happens but its acknowledgement is lost. Page rules always run after (the handler knows the page).
   */
  when?: 'before' | 'after';
  action: FaultAction;
}

interface ArmedRule extends FaultRule {
  seen: number;
  fired: number;
}

export interface FaultContext {
  route: string;
  method: string;
  page?: number;
}

export class FaultInjector {
  private rules: ArmedRule[] = [];
  /** Every fault that fired, for tests and for docs/reliability.md counts. */
  readonly fired: Array<{ route: string; method: string; action: FaultAction['type']; status?: number }> = [];

  add(rule: FaultRule): this {
    this.rules.push({ ...rule, seen: 0, fired: 0 });
    return this;
  }

  clear(): void {
    this.rules = [];
  }

  /** Rules still waiting to fire (a test can assert its fault was actually hit). */
  pending(): number {
    return this.rules.filter((r) => r.fired < (r.times ?? 1)).length;
  }

  /** Returns the actions to apply for this request at this stage, consuming them. */
  take(stage: 'before' | 'after', ctx: FaultContext): FaultAction[] {
    const out: FaultAction[] = [];
    for (const rule of this.rules) {
      const ruleStage = rule.page !== undefined ? 'after' : (rule.when ?? 'before');
      if (ruleStage !== stage) continue;
      if (rule.route !== undefined && rule.route !== ctx.route) continue;
      if (rule.method !== undefined && rule.method.toUpperCase() !== ctx.method) continue;
      if (rule.page !== undefined && rule.page !== ctx.page) continue;
      if (rule.fired >= (rule.times ?? 1)) continue;
      rule.seen += 1;
      if (rule.seen <= (rule.skip ?? 0)) continue;
      rule.fired += 1;
      out.push(rule.action);
      const status = rule.action.type === 'status' ? rule.action.status : undefined;
      this.fired.push({ route: ctx.route, method: ctx.method, action: rule.action.type, ...(status !== undefined ? { status } : {}) });
    }
    return out;
  }
}
