/** Cron expressions for recurring jobs (five fields, or six with seconds), evaluated in UTC. */
import type { Cron } from 'croner';
import { InvalidInputError } from './errors.js';
import { lazy } from './lazy.js';

const croner = lazy<typeof import('croner')>('croner');

function parse(expression: string, field: string): Cron {
  try {
    return new (croner().Cron)(expression, { timezone: 'UTC', paused: true });
  } catch (error) {
    throw new InvalidInputError(field, `"${expression}" is not a cron expression (${(error as Error).message})`);
  }
}

/** Checks an expression, naming the field when it is not valid. */
export function validateCron(expression: string, field = 'cron'): string {
  parse(expression, field);
  return expression;
}

/** The first tick strictly after `after` (ms), or null if the expression never fires again. */
export function nextTick(expression: string, after: number): number | null {
  const next = parse(expression, 'cron').nextRun(new Date(after));
  return next ? next.getTime() : null;
}
