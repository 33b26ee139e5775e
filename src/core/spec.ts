/**
 * Turns what a caller asks for (a JobSpec) into a complete, validated new job, or refuses it with
 * an error naming the field. Nothing reaches the store before this has passed.
 */
import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { InvalidInputError } from './errors.js';
import { NO_DEFAULTS, type TypeDefaults } from './registry.js';
import { MAX_DURATION_SECONDS, PRIORITY_RANGE, parseSize } from './units.js';
import {
  COMMAND_TYPE,
  DEFAULT_QUEUE,
  DEFAULT_TENANT,
  type Job,
  type JobSpec,
  type ResourceRequest,
  type Resources,
  type RetryPolicy,
  SCHEDULERS,
} from './words.js';

/** A job ready to be stored: every default applied, every field checked. */
export type NewJob = Pick<
  Job,
  | 'name'
  | 'type'
  | 'scheduler'
  | 'queue'
  | 'priority'
  | 'command'
  | 'argv'
  | 'cwd'
  | 'env'
  | 'resources'
  | 'timeLimitSeconds'
  | 'maxAttempts'
  | 'retry'
  | 'runAt'
  | 'group'
  | 'cron'
  | 'dependsOn'
  | 'key'
  | 'tenant'
  | 'user'
  | 'params'
  | 'restartedFrom'
>;

/**
 * The spec that runs a finished job again as a new job: the same work (command or type and
 * params), queue, priority, resources, limits and retries, with `restartedFrom` naming it.
 */
export function restartSpec(job: Job): JobSpec {
  return {
    name: job.name,
    type: job.type,
    params: job.type === COMMAND_TYPE ? undefined : job.params,
    command: job.command ?? undefined,
    argv: job.argv ?? undefined,
    cwd: job.cwd,
    env: job.env,
    queue: job.queue,
    priority: job.priority,
    scheduler: job.scheduler,
    resources: job.resources,
    timeLimitSeconds: job.timeLimitSeconds ?? undefined,
    maxAttempts: job.maxAttempts,
    retry: job.retry,
    group: job.group ?? undefined,
    tenant: job.tenant,
    user: job.user ?? undefined,
    restartedFrom: job.id,
  };
}

const NAME_PATTERN = /^[A-Za-z0-9_.:@-]{1,128}$/;

export function normalizeSpec(
  spec: JobSpec,
  now = Date.now(),
  defaultCwd = process.cwd(),
  defaults: TypeDefaults = NO_DEFAULTS,
): NewJob {
  refuseNul(spec);
  const type = spec.type ?? COMMAND_TYPE;
  const { command, argv } = work(spec, type);
  const queue = spec.queue ?? defaults.queue ?? DEFAULT_QUEUE;
  if (!NAME_PATTERN.test(queue))
    throw new InvalidInputError('queue', `"${queue}" must be 1–128 letters, digits or _.:@-`);
  const scheduler = spec.scheduler ?? 'local';
  const timeLimit = spec.timeLimitSeconds ?? defaults.timeLimitSeconds;
  const maxAttempts = spec.maxAttempts ?? defaults.maxAttempts;
  if (!SCHEDULERS.includes(scheduler)) {
    throw new InvalidInputError('scheduler', `"${scheduler}" is not a scheduler; use one of ${SCHEDULERS.join(', ')}`);
  }
  return {
    name: spec.name ?? defaultName(command, argv, type),
    type,
    scheduler,
    queue,
    priority: integer(spec.priority ?? defaults.priority ?? 0, 'priority', PRIORITY_RANGE.min, PRIORITY_RANGE.max),
    command,
    argv,
    cwd: spec.cwd == null ? defaultCwd : workingFolder(spec.cwd, defaultCwd, 'cwd'),
    env: environment(spec.env ?? {}),
    resources: resources(spec.resources ?? {}),
    timeLimitSeconds: timeLimit == null ? null : positive(timeLimit, 'time_limit'),
    maxAttempts: maxAttempts == null ? 1 : integer(maxAttempts, 'max_attempts', 1),
    retry: retryPolicy(spec.retry, defaults.retry),
    group: spec.group ?? defaults.group ?? null,
    cron: spec.cron ?? defaults.cron ?? null,
    runAt: runAt(spec.runAt ?? now, now),
    dependsOn: dependencies(spec.dependsOn ?? []),
    key: spec.key == null ? null : canonicalKey(spec.key),
    tenant: spec.tenant ?? DEFAULT_TENANT,
    user: spec.user ?? null,
    params: spec.params ?? null,
    restartedFrom: spec.restartedFrom ?? null,
  };
}

function work(spec: JobSpec, type: string): { command: string | null; argv: string[] | null } {
  if (spec.command != null && spec.argv != null) {
    throw new InvalidInputError(
      'command',
      'give either a shell string (--cmd) or an argument vector (after --), not both',
    );
  }
  if (type !== COMMAND_TYPE && (spec.command != null || spec.argv != null)) {
    throw new InvalidInputError('command', `a job of type ${type} runs its handler; give --params, not a command`);
  }
  if (type === COMMAND_TYPE) {
    if (spec.command == null && (spec.argv == null || spec.argv.length === 0)) {
      throw new InvalidInputError('command', 'nothing to run; give --cmd "shell string" or -- PROGRAM ARG...');
    }
    if (spec.command != null && spec.command.trim() === '') throw new InvalidInputError('command', 'is empty');
  }
  if (spec.argv != null && !spec.argv.every((arg) => typeof arg === 'string')) {
    throw new InvalidInputError('argv', 'must be a list of strings');
  }
  return { command: spec.command ?? null, argv: spec.argv ?? null };
}

/**
 * A job's working folder as an absolute path: a relative one is taken against the submitter's folder
 * now (a worker elsewhere would read it against its own), and a folder that does not exist is
 * refused now rather than failing (or, on SLURM, silently running in /tmp) later.
 */
export function workingFolder(path: string, base: string, field: string): string {
  if (typeof path !== 'string' || path === '') throw new InvalidInputError(field, 'must be a folder path');
  const absolute = resolve(base, path);
  let folder = false;
  try {
    folder = statSync(absolute).isDirectory();
  } catch {
    // missing or unreadable: refused below
  }
  if (!folder) throw new InvalidInputError(field, `${absolute} is not an existing folder; create it or fix the path`);
  return absolute;
}

/**
 * A NUL character cannot be stored by PostgreSQL (in text or JSON), nor passed to a process: it is
 * refused at submit on every engine, naming where it is (`env.A`, `argv[1]`, `params.note`).
 * The walk builds no path unless it finds one (it runs on every submit).
 */
function refuseNul(spec: JobSpec): void {
  const path = nulPath(spec);
  if (path !== null) {
    // `.timeLimit…` → `time_limit…`: the spec's own field in the words of the errors.
    const [, field = '', rest = ''] = /^\.([^.[]*)(.*)$/s.exec(path) ?? [];
    const named = field.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`) + rest;
    throw new InvalidInputError(named, 'contains a NUL character (\\u0000), which no job field may hold; remove it');
  }
}

/** Where the first NUL character is in `value` ('' for `value` itself), or null when there is none. */
function nulPath(value: unknown): string | null {
  if (typeof value === 'string') return value.includes('\0') ? '' : null;
  if (value === null || typeof value !== 'object') return null;
  if (Array.isArray(value)) {
    for (let index = 0; index < value.length; index++) {
      const inner = nulPath(value[index]);
      if (inner !== null) return `[${index}]${inner}`;
    }
    return null;
  }
  for (const key in value) {
    if (key.includes('\0')) return `.${key}`;
    const inner = nulPath((value as Record<string, unknown>)[key]);
    if (inner !== null) return `.${key}${inner}`;
  }
  return null;
}

function defaultName(command: string | null, argv: string[] | null, type: string): string {
  const text = command ?? argv?.join(' ') ?? type;
  return text.length > 60 ? `${text.slice(0, 57)}...` : text;
}

function environment(env: Record<string, string>): Record<string, string> {
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new InvalidInputError('env', `"${name}" is not a valid variable name; use K=V with K like MY_VAR`);
    }
    if (typeof value !== 'string') throw new InvalidInputError(`env.${name}`, 'must be a string');
  }
  return { ...env };
}

/** One of a resource's two spellings (`gpus` or `gpuCount`), refusing both at once. */
function either<T>(short: T | undefined, long: T | undefined, names: string): T | undefined {
  if (short != null && long != null) throw new InvalidInputError(`resources.${names}`, 'give one of the two, not both');
  return short ?? long;
}

function resources(given: ResourceRequest): Resources {
  const out: Resources = {};
  const cpus = either(given.cpus, given.cpuCount, 'cpus/cpuCount');
  const gpus = either(given.gpus, given.gpuCount, 'gpus/gpuCount');
  const memory = either(given.memory, given.memoryBytes, 'memory/memoryBytes');
  if (cpus != null) out.cpuCount = integer(cpus, 'cpu_count', 1);
  if (memory != null) {
    const bytes = typeof memory === 'string' ? parseSize(memory, 'memory') : memory;
    out.memoryBytes = integer(bytes, 'memory', 1, Number.MAX_SAFE_INTEGER);
  }
  if (gpus != null) out.gpuCount = integer(gpus, 'gpu_count', 0);
  if (given.pin != null) {
    if (typeof given.pin !== 'boolean') throw new InvalidInputError('pin', `${given.pin} must be true or false`);
    out.pin = given.pin;
  }
  if (given.partition != null) out.partition = given.partition;
  if (given.account != null) out.account = given.account;
  return out;
}

const NO_RETRY_DELAY: RetryPolicy = Object.freeze({
  delaySeconds: 0,
  backoff: 'fixed',
  jitter: false,
  maxDelaySeconds: null,
});

/** The retry policy: the spec's fields, else the type's, else none. */
function retryPolicy(spec: Partial<RetryPolicy> | undefined, type: Partial<RetryPolicy> | undefined): RetryPolicy {
  if (spec === undefined && type === undefined) return NO_RETRY_DELAY;
  const given = { ...type, ...spec };
  const backoff = given.backoff ?? 'fixed';
  if (backoff !== 'fixed' && backoff !== 'exponential') {
    throw new InvalidInputError('retry.backoff', `"${backoff}" is not a backoff; use fixed or exponential`);
  }
  return {
    delaySeconds: nonNegative(given.delaySeconds ?? 0, 'retry_delay'),
    backoff,
    jitter: given.jitter ?? false,
    maxDelaySeconds: given.maxDelaySeconds == null ? null : nonNegative(given.maxDelaySeconds, 'retry.max_delay'),
  };
}

function dependencies(ids: number[]): number[] {
  for (const id of ids) integer(id, 'after', 1, Number.MAX_SAFE_INTEGER);
  return [...new Set(ids)];
}

/** Integers are stored in 32-bit columns (PostgreSQL's integer) unless a field says otherwise. */
function integer(
  value: number,
  field: string,
  min: number = PRIORITY_RANGE.min,
  max: number = PRIORITY_RANGE.max,
): number {
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    throw new InvalidInputError(field, `${value} is not an integer from ${min} to ${max}`);
  }
  return value;
}

function positive(value: number, field: string): number {
  if (!Number.isFinite(value) || value <= 0) throw new InvalidInputError(field, `${value} must be a positive duration`);
  return notAbsurd(value, field);
}

function nonNegative(value: number, field: string): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidInputError(field, `${value} must not be negative`);
  return notAbsurd(value, field);
}

function notAbsurd(seconds: number, field: string): number {
  if (seconds > MAX_DURATION_SECONDS) throw new InvalidInputError(field, `${seconds} seconds is longer than 100 years`);
  return seconds;
}

/** A start time (ms) no more than 100 years from now. */
function runAt(value: number, now: number): number {
  if (!Number.isFinite(value) || Math.abs(value - now) > MAX_DURATION_SECONDS * 1000) {
    throw new InvalidInputError('run_at', `${value} is not a time within 100 years of now`);
  }
  return value;
}

/**
 * The stored form of a key: strings as they are, objects as JSON with sorted keys, so that
 * `{a:1,b:2}` and `{b:2,a:1}` are one key (DataJoint's key dicts).
 */
export function canonicalKey(key: string | Record<string, unknown>): string {
  if (typeof key === 'string') {
    if (key === '') throw new InvalidInputError('key', 'must not be empty');
    return key;
  }
  if (typeof key !== 'object' || Array.isArray(key))
    throw new InvalidInputError('key', 'must be a string or an object');
  return canonicalJson(key);
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.keys(value)
      .sort()
      .map((k) => `${JSON.stringify(k)}:${canonicalJson((value as Record<string, unknown>)[k])}`);
    return `{${entries.join(',')}}`;
  }
  return JSON.stringify(value);
}
