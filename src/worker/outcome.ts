/** Classifies how an attempt's work ended into one of docket's outcomes (Oban's closed set). */
import type { Outcome } from '../core/words.js';
import type { ExitReport } from '../executors/executor.js';

export interface EndContext {
  /** The worker stopped the work because its time limit passed. */
  timedOut: boolean;
  timeLimitSeconds: number | null;
}

export function classifyExit(report: ExitReport, context: EndContext): Outcome {
  const base = { exitCode: report.exitCode, signal: report.signal };
  if (context.timedOut) {
    return { ...base, status: 'timeout', error: `time limit of ${context.timeLimitSeconds}s exceeded` };
  }
  if (report.error) return { ...base, status: 'failed', error: report.error, errorStack: report.errorStack ?? null };
  if (report.exitCode === 0) return { ...base, status: 'completed', result: report.result };
  if (report.signal) return { ...base, status: 'failed', error: `killed by signal ${report.signal}` };
  return { ...base, status: 'failed', error: `exited with code ${report.exitCode}` };
}
