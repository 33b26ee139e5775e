/**
 * Where each attempt's output starts in a job's log files: the local executor appends one JSON line
 * per attempt to `attempts` beside `stdout` and `stderr` (the job writes straight to those files,
 * so docket cannot mark them inline without changing what the job wrote).
 */

/** The file in a job's log folder that lists its attempts' starting offsets. */
export const ATTEMPTS_FILE = 'attempts';

/** One attempt's start: its number, when it started (ms), and the sizes of stdout and stderr then. */
export interface AttemptMark {
  attempt: number;
  at: number;
  stdout: number;
  stderr: number;
}

/** The line the executor appends when an attempt starts. */
export function attemptMark(attempt: number, stdout: number, stderr: number, at = Date.now()): string {
  return `${JSON.stringify({ attempt, at, stdout, stderr } satisfies AttemptMark)}\n`;
}

/** Parses the attempts file's text; lines that are not marks (a torn write) are skipped. */
export function parseAttemptMarks(text: string): AttemptMark[] {
  const marks: AttemptMark[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    try {
      const mark = JSON.parse(line) as AttemptMark;
      if (Number.isInteger(mark.attempt) && Number.isInteger(mark.stdout) && Number.isInteger(mark.stderr)) {
        marks.push(mark);
      }
    } catch {
      // a line cut short by a crash: the others still hold
    }
  }
  return marks;
}
