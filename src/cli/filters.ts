/** Job filters typed on the command line (`--status`, `--queue`, `--type`, `--name`), shared by commands. */
import type { Command } from 'commander';
import { InvalidInputError } from '../core/errors.js';
import { JOB_STATUSES, type JobStatus } from '../core/words.js';
import type { JobSearch } from '../docket-types.js';
import { commaList } from './context.js';

export interface FilterFlags {
  status?: string[];
  queue?: string;
  type?: string;
  name?: string;
  all?: boolean;
}

/** States as typed, in any case (`FAILED`, as SLURM users write them); refuses unknown ones naming `field`. */
export function parseStatuses(values: string[], field = '--status'): JobStatus[] {
  return values.map((value) => {
    const status = value.toLowerCase();
    if (!JOB_STATUSES.includes(status as JobStatus)) {
      throw new InvalidInputError(field, `"${value}" is not a state; use ${JOB_STATUSES.join(', ')}`);
    }
    return status as JobStatus;
  });
}

/** Adds `--status`, `--queue`, `--type`, `--name` and `--all` to a command that acts on many jobs. */
export function addFilterOptions(command: Command, allMeans: string): Command {
  return command
    .option('-s, --status <states>', 'only jobs in these states, comma-separated', commaList)
    .option('-q, --queue <queue>', 'only jobs of this queue')
    .option('--type <type>', 'only jobs of this type (command, or a handler type)')
    .option('-n, --name <glob>', 'only jobs whose name matches (* any text, ? one character; any case)')
    .option('-a, --all', allMeans);
}

/** True when any filter (or --all) was given. */
export function hasFilter(flags: FilterFlags): boolean {
  return [flags.status, flags.queue, flags.type, flags.name].some((value) => value !== undefined) || !!flags.all;
}

/** The search the filters describe; `statuses` stands in for a missing `--status`. */
export function searchOf(flags: FilterFlags, statuses: readonly JobStatus[]): JobSearch {
  if (flags.name === '') throw new InvalidInputError('--name', 'is empty; give a name or a glob such as "train-*"');
  return {
    statuses: flags.status ? parseStatuses(flags.status) : [...statuses],
    queue: flags.queue,
    type: flags.type,
    nameGlob: flags.name,
    order: 'created_at',
    descending: false,
    limit: 1,
    offset: 0,
    now: Date.now(),
  };
}

/** `a`, `a or b`, `a, b or c`. */
function oneOf(words: readonly string[]): string {
  return words.length < 2 ? words.join('') : `${words.slice(0, -1).join(', ')} or ${words[words.length - 1]}`;
}

/** How a filter reads in a sentence: `in queue gpu, named train-*`. */
export function describeFilter(search: JobSearch): string {
  const parts = [
    search.statuses?.length ? oneOf(search.statuses) : null,
    search.queue !== undefined ? `in queue ${search.queue}` : null,
    search.type !== undefined ? `of type ${search.type}` : null,
    search.nameGlob !== undefined ? `named ${search.nameGlob}` : null,
  ];
  return parts.filter(Boolean).join(', ');
}
