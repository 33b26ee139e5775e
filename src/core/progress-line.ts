/** The `::progress 0.4 message` lines a command job prints on its stdout to report progress. */

/** A progress report: a fraction 0..1 and an optional message. */
export interface ProgressReport {
  value: number;
  message: string | null;
}

/** Reads `::progress 0.4 loading`, `::progress 40% loading`; null for any other line or a value outside 0..1. */
export function parseProgressLine(line: string): ProgressReport | null {
  const match = /^::progress\s+(\d+(?:\.\d+)?)(%?)(?:\s+(.*))?$/.exec(line.trimEnd());
  if (!match) return null;
  const value = Number(match[1]) / (match[2] ? 100 : 1);
  if (value < 0 || value > 1) return null;
  return { value, message: match[3] ?? null };
}
