/**
 * What `docket run` shows while it follows its job: on a terminal, the job's `::progress` lines as
 * one bar on stderr (redrawn below the output) instead of raw lines; and, anywhere, a line on
 * stderr when the job waits for something the user may not expect (a paused queue, a full one).
 */
import { Writable } from 'node:stream';
import { parseProgressLine } from '../core/progress-line.js';
import type { Job } from '../core/words.js';
import type { Docket } from '../docket.js';
import type { FollowOptions } from './follow.js';
import { reasonsFor } from './jobs-table.js';

const BAR_WIDTH = 30;
/** Reasons `run` does not announce: it sees to a worker itself. */
const ORDINARY = /^(waiting for a worker|no live worker serves)/;
/** How often a pending job's reason is looked up. */
const REASON_EVERY_MS = 1000;

/** The follow options of a `docket run` on this terminal (or pipe). */
export function runView(docket: Docket): FollowOptions & { done: () => void } {
  const terminal = process.stdout.isTTY === true && process.stderr.isTTY === true;
  const bar = terminal ? new ProgressBar(process.stderr) : null;
  return {
    stdout: bar ? withoutProgressLines(process.stdout, bar) : process.stdout,
    stderr: bar ? bar.around(process.stderr) : process.stderr,
    onJob: announceWaits(docket),
    done: () => bar?.clear(),
  };
}

/** Prints why the job waits, once per reason, when the reason is out of the ordinary. */
function announceWaits(docket: Docket): (job: Job) => Promise<void> {
  let said: string | null = null;
  let lookedAt = 0;
  return async (job) => {
    if (job.status !== 'pending' || Date.now() - lookedAt < REASON_EVERY_MS) return;
    lookedAt = Date.now();
    const reason = (await reasonsFor(docket, [job])).get(job.id);
    if (!reason || reason === said || ORDINARY.test(reason)) return;
    said = reason;
    process.stderr.write(`docket: job ${job.id} is waiting: ${reason}\n`);
  };
}

/** One line at the bottom of the terminal: `[=====>     ] 40% loading data`. */
class ProgressBar {
  private line = '';

  constructor(private readonly stream: NodeJS.WriteStream) {}

  show(value: number, message: string | null): void {
    const filled = Math.round(value * BAR_WIDTH);
    const text = `[${'#'.repeat(filled)}${' '.repeat(BAR_WIDTH - filled)}] ${Math.round(value * 100)}%${message ? ` ${message}` : ''}`;
    this.line = text.slice(0, Math.max(10, (this.stream.columns || 80) - 1));
    this.stream.write(`\r\x1b[2K${this.line}`);
  }

  /** Writes output above the bar: clear it, write, draw it again. */
  write(target: NodeJS.WritableStream, chunk: Buffer | string): void {
    if (this.line) this.stream.write('\r\x1b[2K');
    target.write(chunk);
    if (this.line) this.stream.write(`${chunk.toString().endsWith('\n') ? '' : '\n'}${this.line}`);
  }

  /** A stream whose writes go above the bar. */
  around(target: NodeJS.WritableStream): Writable {
    return new Writable({
      write: (chunk: Buffer, _encoding, done) => {
        this.write(target, chunk);
        done();
      },
    });
  }

  clear(): void {
    if (this.line) this.stream.write('\r\x1b[2K');
    this.line = '';
  }
}

/** The job's stdout without its `::progress` lines, which move the bar instead. */
function withoutProgressLines(target: NodeJS.WritableStream, bar: ProgressBar): Writable {
  let partial = '';
  return new Writable({
    write(chunk: Buffer, _encoding, done) {
      const lines = (partial + chunk.toString('utf8')).split('\n');
      partial = lines.pop() ?? '';
      let shown = '';
      for (const line of lines) {
        const report = parseProgressLine(line);
        if (report) bar.show(report.value, report.message);
        else shown += `${line}\n`;
      }
      // Hold back a partial line only while it may still become a progress line.
      if (partial && !mayBeProgress(partial)) {
        shown += partial;
        partial = '';
      }
      if (shown) bar.write(target, shown);
      done();
    },
  });
}

const mayBeProgress = (text: string) => text.startsWith('::progress') || '::progress'.startsWith(text);
