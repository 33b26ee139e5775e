/** Jobs as the CLI's tables show them (`list`, `wait`, `top`): one row per job, fitted and coloured on a terminal. */
import { styleText } from 'node:util';
import type { Job } from '../core/words.js';
import type { Docket } from '../docket.js';
import {
  ago,
  colourOn,
  elapsed,
  PLAIN,
  STATUS_STYLE,
  shortTime,
  statusLabel,
  table,
  terminalWidth,
  truncate,
} from './format.js';

interface Column {
  header: string;
  cell: (job: Job, note: string) => string | number | null;
  /** A column that says nothing for these jobs, left out when the terminal is narrow. */
  idle?: (jobs: Job[]) => boolean;
}

const COLUMNS: Column[] = [
  { header: 'ID', cell: (job) => job.id },
  { header: 'NAME', cell: (job) => job.name },
  { header: 'STATUS', cell: (job) => statusLabel(job) },
  { header: 'QUEUE', cell: (job) => job.queue },
  { header: 'SCHEDULER', cell: (job) => job.scheduler, idle: (jobs) => jobs.every((job) => job.scheduler === 'local') },
  { header: 'PRI', cell: (job) => job.priority, idle: (jobs) => jobs.every((job) => job.priority === 0) },
  { header: 'TRIES', cell: (job) => `${job.attempts}/${job.maxAttempts}` },
  { header: 'CREATED', cell: (job) => ago(job.createdAt) },
  { header: 'ELAPSED', cell: (job) => elapsed(job) },
  { header: 'EXIT', cell: (job) => job.exitCode ?? job.signal },
  { header: 'NOTE', cell: (_job, note) => note },
];

/** Below this width, columns that say nothing for the jobs shown are left out. */
const NARROW = 120;

export interface JobsTableOptions {
  /** Why each job is where it is (JobService.explain); the NOTE column shows it for jobs that wait. */
  reasons?: Map<number, string | null>;
  /** Draw for this stream: fitted to its width and coloured when it is a terminal (default stdout). */
  stream?: NodeJS.WriteStream;
}

/** The table of jobs: relative creation times, elapsed time of the current attempt, and a note. */
export function jobsTable(jobs: Job[], { reasons, stream = process.stdout }: JobsTableOptions = {}): string {
  const colour = colourOn(stream);
  const width = terminalWidth(stream);
  const columns = COLUMNS.filter((column) => width === undefined || width >= NARROW || !column.idle?.(jobs));
  const headers = columns.map((column) => column.header);
  const status = headers.indexOf('STATUS');
  const last = headers.length - 1;
  return table(
    headers,
    jobs.map((job) => {
      const text = note(job, reasons?.get(job.id) ?? null);
      return columns.map((column) => column.cell(job, text));
    }),
    {
      width,
      shrink: [headers.indexOf('NAME'), headers.indexOf('QUEUE'), last],
      paint: colour
        ? (cell, column, row) => {
            const job = jobs[row] as Job;
            if (column === status) return styleText(STATUS_STYLE[job.status], cell, PLAIN);
            if (column === last && job.status !== 'running') return styleText('dim', cell, PLAIN);
            return cell;
          }
        : undefined,
    },
  );
}

/** A running job's progress; why a pending one waits; a failed one's first line of error. */
function note(job: Job, reason: string | null): string {
  if (job.status === 'running' && job.progress !== null) {
    return `${Math.round(job.progress * 100)}%${job.progressMessage ? ` ${job.progressMessage}` : ''}`;
  }
  if (job.status === 'pending') return reason ?? job.pendingReason ?? '';
  if (job.error) return truncate(job.error.split('\n')[0] ?? '', 80);
  return reason ?? '';
}

/** Why each job is where it is, in the CLI's words: times local and relative (`until 14:03:07 (in 2h)`). */
export function reasonsFor(docket: Docket, jobs: readonly Job[]): Promise<Map<number, string | null>> {
  return docket.service.explain(jobs, { formatTime: (ms) => `${shortTime(ms)} (${ago(ms)})` });
}
