/** Asking before a command touches many jobs: only on a terminal, and never with --yes. */
import { createInterface } from 'node:readline/promises';

/** How many jobs a command changes without asking first. */
export const ASK_ABOVE = 5;

/** Whether a person is there to answer (stdin and stderr are terminals). */
export function canAsk(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY);
}

/** Asks a yes/no question on the terminal; anything but y/yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const terminal = createInterface({ input: process.stdin, output: process.stderr });
  try {
    const answer = await terminal.question(`${question} [y/N] `);
    return /^y(es)?$/i.test(answer.trim());
  } finally {
    terminal.close();
  }
}
