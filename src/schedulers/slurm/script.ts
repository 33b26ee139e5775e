/**
 * What docket hands to sbatch: the batch script (the job's environment and its work, quoted so
 * that what runs is exactly what was given) and sbatch's options (resources, files, dependencies).
 */
import type { Job } from '../../core/words.js';

/** Quotes one word for a POSIX shell: `it's` → `'it'\''s'`. Safe words stay as they are. */
export function shellQuote(word: string): string {
  if (/^[A-Za-z0-9_@%+=:,./-]+$/.test(word)) return word;
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

export function shellJoin(words: readonly string[]): string {
  return words.map(shellQuote).join(' ');
}

/**
 * The batch script: exports the job's environment, then runs the job as a local job runs — a shell
 * string by `/bin/sh -c`, an argument vector as is (no shell: `bash -c 'exit 3'` stays 3 words).
 */
export function batchScript(job: Job): string {
  const lines = ['#!/bin/sh', `# docket job ${job.id}: ${oneLine(job.name)}`];
  for (const [name, value] of Object.entries(job.env)) lines.push(`export ${name}=${shellQuote(value)}`);
  lines.push(`export DOCKET_JOB_ID=${job.id}`, `export DOCKET_ATTEMPT=${job.runNo + 1}`);
  const work = job.argv ? shellJoin(job.argv) : `/bin/sh -c ${shellQuote(job.command ?? '')}`;
  lines.push(`exec ${work}`, '');
  return lines.join('\n');
}

export interface SbatchOptions {
  /** The job's log folder: stdout and stderr go there, as for local jobs. */
  logDir: string;
  /** SLURM ids of dependencies that have not completed yet (afterok). */
  afterOk: readonly string[];
}

/** sbatch's options for a job (the script comes on stdin). */
export function sbatchArgs(job: Job, options: SbatchOptions): string[] {
  const args = [
    '--parsable',
    `--job-name=${oneLine(job.name)}`,
    `--chdir=${job.cwd}`,
    // `%` starts a SLURM file-name pattern: double it so the path is taken literally.
    `--output=${options.logDir.replaceAll('%', '%%')}/stdout`,
    `--error=${options.logDir.replaceAll('%', '%%')}/stderr`,
    // Retries write to the same files, after what earlier attempts wrote (as local jobs do).
    '--open-mode=append',
    // Not the environment of whichever process happens to run sbatch (a held job is handed over
    // by a later CLI call or worker): the user's login environment on the node, plus the job's
    // own variables, which the batch script exports.
    '--export=NONE',
  ];
  const r = job.resources;
  if (r.cpuCount !== undefined) args.push(`--cpus-per-task=${r.cpuCount}`);
  if (r.memoryBytes !== undefined) args.push(`--mem=${Math.ceil(r.memoryBytes / 1024 ** 2)}M`);
  if (r.gpuCount) args.push(`--gres=gpu:${r.gpuCount}`);
  if (r.partition !== undefined) args.push(`--partition=${r.partition}`);
  if (r.account !== undefined) args.push(`--account=${r.account}`);
  if (job.timeLimitSeconds !== null) args.push(`--time=${slurmTime(job.timeLimitSeconds)}`);
  if (options.afterOk.length > 0) {
    // If a dependency fails, SLURM cancels the dependent instead of keeping it pending forever.
    args.push(`--dependency=afterok:${options.afterOk.join(':')}`, '--kill-on-invalid-dep=yes');
  }
  return args;
}

/** SLURM's `D-HH:MM:SS` for a time limit; SLURM itself rounds up to whole minutes. */
export function slurmTime(seconds: number): string {
  const total = Math.max(1, Math.ceil(seconds));
  const days = Math.floor(total / 86400);
  const clock = [Math.floor((total % 86400) / 3600), Math.floor((total % 3600) / 60), total % 60]
    .map((part) => String(part).padStart(2, '0'))
    .join(':');
  return days > 0 ? `${days}-${clock}` : clock;
}

function oneLine(text: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what is replaced
  return text.replace(/[\u0000-\u001f\u007f]+/g, ' ');
}
