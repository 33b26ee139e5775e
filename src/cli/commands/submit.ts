/** `docket submit`: store a job and hand it to a worker (started on demand). */
import type { Command } from 'commander';
import { InvalidInputError, InvalidStateError } from '../../core/errors.js';
import { workingFolder } from '../../core/spec.js';
import { PRIORITY_RANGE, parseCount, parseDuration, parseJobId, parseSize, parseTime } from '../../core/units.js';
import { COMMAND_TYPE, type Job, type JobSpec, SCHEDULERS, type SchedulerName } from '../../core/words.js';
import type { Docket, SubmitOptions } from '../../docket.js';
import { action, collect, emit, loadTypes, withDocket } from '../context.js';
import { jobJson } from '../format.js';

export interface SubmitFlags {
  cmd?: string;
  jobName?: string;
  cwd?: string;
  env?: string[];
  queue?: string;
  priority?: string;
  delay?: string;
  at?: string;
  after?: string[];
  timeLimit?: string;
  maxAttempts?: string;
  retryDelay?: string;
  backoff?: string;
  cpuCount?: string;
  memory?: string;
  gpuCount?: string;
  pin?: boolean;
  partition?: string;
  account?: string;
  key?: string;
  scheduler?: string;
  type?: string;
  params?: string;
}

/** Adds the job options shared by `submit` and `run`. */
export function addJobOptions(command: Command): Command {
  return command
    .argument('[argv...]', 'program and arguments to run without a shell (after --)')
    .option('--cmd <shell>', 'a shell command line, run by sh -c')
    .option('--type <name>', 'a job type defined by a program or worker config (default: command)')
    .option('--params <json>', "the typed job's params, as JSON (checked against the type's schema)")
    .option('--job-name <name>', 'a name to recognise the job by')
    .option('--cwd <dir>', 'working directory (default: the current one)')
    .option('--env <K=V>', 'set an environment variable (repeatable)', collect)
    .option('--queue <queue>', "queue to put the job in (default: the type's, else default)")
    .option('--priority <n>', 'higher runs first; may be negative (default 0)')
    .option('--delay <duration>', 'start no earlier than this long from now (90s, 5m, 2h, 1:30:00)')
    .option('--at <time>', 'start no earlier than this ISO-8601 time')
    .option('--after <id>', 'run only after job <id> completed (repeatable)', collect)
    .option('--time-limit <duration>', 'stop the job and mark it timeout after this long')
    .option('--max-attempts <n>', 'tries before the job is failed (default 1)')
    .option('--retry-delay <duration>', 'wait between tries (default 0s)')
    .option('--backoff <kind>', 'fixed (default) or exponential: double the delay at every try')
    .option('--cpu-count <n>', 'CPUs the job needs')
    .option('--memory <size>', 'memory the job needs (512M, 32GB)')
    .option('--gpu-count <n>', 'GPUs the job needs')
    .option('--pin', "local jobs: bind the job's processes to its cores (needs --cpu-count)")
    .option('--partition <name>', 'SLURM partition')
    .option('--account <name>', 'SLURM account')
    .option('--key <key>', 'idempotency key: a second submit with it returns the first job')
    .option('--scheduler <name>', `where the job runs: ${SCHEDULERS.join(' or ')}`, 'local');
}

/** Turns the shared flags into a job spec, refusing bad values with the flag's name. */
export function specFromFlags(flags: SubmitFlags, argv: string[]): JobSpec {
  if (flags.delay !== undefined && flags.at !== undefined) {
    throw new InvalidInputError('--delay', 'give either --delay or --at, not both');
  }
  if (flags.cmd !== undefined && argv.length > 0) {
    throw new InvalidInputError('--cmd', 'give either --cmd "shell string" or -- PROGRAM ARG..., not both');
  }
  if (flags.params !== undefined && (flags.type === undefined || flags.type === COMMAND_TYPE)) {
    throw new InvalidInputError('--params', 'only a typed job takes params; add --type NAME (or drop --params)');
  }
  if (flags.jobName !== undefined && flags.jobName.trim() === '') {
    throw new InvalidInputError(
      '--job-name',
      'is empty; give a name, or leave the flag out to name the job after its command',
    );
  }
  const scheduler = flags.scheduler ?? 'local';
  if (!SCHEDULERS.includes(scheduler as SchedulerName)) {
    throw new InvalidInputError('--scheduler', `"${scheduler}" is not a scheduler; use ${SCHEDULERS.join(' or ')}`);
  }
  const spec: JobSpec = {
    name: flags.jobName,
    type: flags.type,
    params: flags.params === undefined ? undefined : parseJson(flags.params, '--params'),
    command: flags.cmd,
    argv: argv.length > 0 ? argv : undefined,
    cwd: flags.cwd === undefined ? undefined : workingFolder(flags.cwd, process.cwd(), '--cwd'),
    env: parseEnv(flags.env ?? []),
    queue: flags.queue,
    priority: flags.priority === undefined ? undefined : parseCount(flags.priority, '--priority', PRIORITY_RANGE),
    scheduler: scheduler as SchedulerName,
    dependsOn: (flags.after ?? []).map((id) => parseJobId(id, '--after')),
    maxAttempts: flags.maxAttempts === undefined ? undefined : parseCount(flags.maxAttempts, '--max-attempts'),
    retry: {
      ...(flags.retryDelay !== undefined && { delaySeconds: parseDuration(flags.retryDelay, '--retry-delay') }),
      ...(flags.backoff !== undefined && { backoff: backoffOf(flags.backoff) }),
    },
    key: flags.key,
    resources: {
      cpuCount: flags.cpuCount === undefined ? undefined : parseCount(flags.cpuCount, '--cpu-count'),
      memoryBytes: flags.memory === undefined ? undefined : parseSize(flags.memory, '--memory'),
      gpuCount: flags.gpuCount === undefined ? undefined : parseCount(flags.gpuCount, '--gpu-count', { min: 0 }),
      pin: flags.pin,
      partition: flags.partition,
      account: flags.account,
    },
  };
  if (flags.pin && spec.resources?.cpuCount === undefined) {
    throw new InvalidInputError('--pin', 'pins the job to the cores it asks for; add --cpu-count N');
  }
  if (flags.timeLimit !== undefined) {
    spec.timeLimitSeconds = parseDuration(flags.timeLimit, '--time-limit');
    if (spec.timeLimitSeconds <= 0) throw new InvalidInputError('--time-limit', 'must be longer than zero');
  }
  if (flags.delay !== undefined) spec.runAt = parseTime(flags.delay, '--delay', 'future');
  if (flags.at !== undefined) spec.runAt = parseTime(flags.at, '--at', 'future');
  return spec;
}

function parseJson(text: string, field: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new InvalidInputError(field, `is not valid JSON (${(error as Error).message})`);
  }
}

function backoffOf(text: string): 'fixed' | 'exponential' {
  if (text !== 'fixed' && text !== 'exponential') {
    throw new InvalidInputError('--backoff', `"${text}" is not a backoff; use fixed or exponential`);
  }
  return text;
}

function parseEnv(pairs: string[]): Record<string, string> {
  const env: Record<string, string> = {};
  for (const pair of pairs) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new InvalidInputError('--env', `"${pair}" is not K=V`);
    env[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return env;
}

/**
 * Submits one job. A `--key` already used returns the job it names, saying so on stderr (nothing
 * new is submitted); the same key with a different command or type is refused, naming that job.
 */
export async function submitOnce(
  docket: Docket,
  spec: JobSpec,
  options: SubmitOptions = {},
  reused = 'returned it, submitted nothing',
): Promise<Job> {
  const [result] = await docket.submitReporting([spec], options).catch((error: unknown) => {
    throw asFlagError(error);
  });
  const { job, created } = result as { job: Job; created: boolean };
  if (created) return job;
  const asked = describeWork(spec.command ?? null, spec.argv ?? null, spec.type ?? COMMAND_TYPE);
  const found = describeWork(job.command, job.argv, job.type);
  if (asked !== found) {
    throw new InvalidStateError(
      `--key "${spec.key}" already names job ${job.id} (${found}, ${job.status}), not ${asked}; use another key`,
    );
  }
  process.stderr.write(`docket: --key "${spec.key}" already names job ${job.id} (${job.status}); ${reused}\n`);
  return job;
}

/** The flag that sets each field the library checks, so a refusal names what the user typed. */
const FLAG_OF: Record<string, string> = {
  queue: '--queue',
  after: '--after',
  depends_on: '--after',
  type: '--type',
  params: '--params',
  key: '--key',
  priority: '--priority',
  cwd: '--cwd',
  env: '--env',
  time_limit: '--time-limit',
  max_attempts: '--max-attempts',
  scheduler: '--scheduler',
};

/** The library's refusal of a field, reworded to name the flag (`queue: …` becomes `--queue: …`). */
function asFlagError(error: unknown): unknown {
  if (!(error instanceof InvalidInputError)) return error;
  const flag = FLAG_OF[error.field.split('.')[0] as string];
  return flag ? new InvalidInputError(flag, error.message.slice(error.field.length + 2)) : error;
}

/** What a job runs, in one comparable line: the shell string, the argv, or the handler type. */
function describeWork(command: string | null, argv: string[] | null, type: string): string {
  if (type !== COMMAND_TYPE) return `type ${type}`;
  return command !== null ? `--cmd ${JSON.stringify(command)}` : `-- ${(argv ?? []).join(' ')}`;
}

export function register(program: Command): void {
  addJobOptions(program.command('submit').description('queue a job and return at once')).action(
    action(async (argv: string[], flags: SubmitFlags, command: Command) => {
      const spec = specFromFlags(flags, argv);
      return withDocket(command, async (docket, options) => {
        if (spec.type !== undefined) await loadTypes(docket);
        const job = await submitOnce(docket, spec);
        emit(options, jobJson(job), () => `${job.id}\t${job.status}\t${job.name}`);
        return 0;
      });
    }),
  );
}
