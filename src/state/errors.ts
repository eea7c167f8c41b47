import { AppError } from '../model/errors.ts';

/** The state file cannot be used; the hint names the way out. */
export class StateError extends AppError {
  constructor(message: string, hint: string, cause?: unknown) {
    super(message, { system: 'state', operation: 'open state', hint, ...(cause !== undefined ? { cause } : {}) });
  }
}
