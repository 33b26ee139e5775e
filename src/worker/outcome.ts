/** Classifies how an attempt's work ended into one of docket's outcomes (Oban's closed set). */
import type { Outcome } from '../core/words.js';
import type { ExitReport } from '../executors/executor.js';

export interface EndContext {
  /** The worker stopped the work because its time limit passed. */
  timedOut: boolean;
  timeLimitSeconds: number | null;
}

export function classifyExit(report: ExitReport, context: EndContext): Outcome {
  // Object literals rather than spreads of a shared base: this runs once per job (issue 12).
  const { exitCode, signal } = report;
  if (context.timedOut) {
    return { exitCode, signal, status: 'timeout', error: `time limit of ${context.timeLimitSeconds}s exceeded` };
  }
  if (report.error)
    return { exitCode, signal, status: 'failed', error: report.error, errorStack: report.errorStack ?? null };
  if (exitCode === 0) return { exitCode, signal, status: 'completed', result: report.result };
  if (signal) return { exitCode, signal, status: 'failed', error: `killed by signal ${signal}` };
  return { exitCode, signal, status: 'failed', error: `exited with code ${exitCode}` };
}
