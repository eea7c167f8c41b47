import cron, { type ScheduledTask } from 'node-cron';

/**
 * When the daemon runs, by a cron expression (node-cron: five fields, or six with seconds first).
 * The scheduler only says "now"; whether a run may start (one at a time) is the worker's call.
 */

/** The longest gap between two runs over the next ones: what "3 × the interval" means for an uneven schedule. */
export function scheduleIntervalMs(expression: string, timezone?: string): number {
  const task = cron.createTask(expression, () => {}, timezone ? { timezone } : {});
  try {
    const next = task.getNextRuns(25);
    let gap = 0;
    for (let i = 1; i < next.length; i++) gap = Math.max(gap, (next[i] as Date).getTime() - (next[i - 1] as Date).getTime());
    return gap;
  } finally {
    void task.destroy();
  }
}

/** Why an expression is not a schedule, in the admin's words; null when it is one. */
export function scheduleProblem(expression: string): string | null {
  const v = cron.validateDetailed(expression);
  if (v.valid) return null;
  const first = v.errors[0];
  return first ? `${first.message}${first.field ? ` (field ${first.field})` : ''}` : 'not a cron expression';
}

export class Schedule {
  private task: ScheduledTask | null = null;
  private readonly expression: string;
  private readonly timezone: string | undefined;

  constructor(expression: string, timezone?: string) {
    this.expression = expression;
    this.timezone = timezone;
  }

  /** Calls `tick` at every matching time until stopped. `tick` must not throw; it is not awaited by the timer. */
  start(tick: () => void): void {
    this.task = cron.schedule(this.expression, () => tick(), {
      name: 'docker-idp-sync',
      ...(this.timezone ? { timezone: this.timezone } : {}),
      // A missed tick (the process was paused) is not made up for: the next one comes soon enough.
      suppressMissedWarning: true,
    });
  }

  nextRun(): Date | null {
    return this.task?.getNextRun() ?? null;
  }

  async stop(): Promise<void> {
    const t = this.task;
    this.task = null;
    if (t) await t.destroy();
  }
}
