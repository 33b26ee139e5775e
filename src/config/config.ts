/**
 * One layered configuration: defaults < `$DOCKET_HOME/config.json` < environment < flags,
 * validated once and passed down frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';
import type { ResourceSettings } from '../resources/inventory.js';

export interface WorkerSettings {
  /** Jobs one worker runs at once (default: the machine's core count). */
  concurrency: number;
  /** An on-demand worker exits after its queues stay idle this long. */
  idleExitMs: number;
  /** Time between SIGTERM and SIGKILL when stopping a job's processes. */
  graceMs: number;
  /** How long a claimed job stays owned without a heartbeat. */
  leaseMs: number;
  heartbeatMs: number;
  /** Fallback poll when no wake-up arrives (wake-ups make it rarely matter). */
  pollMs: number;
  /**
   * Start a worker in the background when a job is submitted and none serves its queue; null: the
   * engine's default (on for SQLite, off for PostgreSQL, where workers are services).
   */
  onDemand: boolean | null;
  /** Workers delete completed and cancelled jobs this long after they ended; null: keep them. */
  pruneAfterMs: number | null;
}

/** How docket reaches SLURM's commands (sbatch, squeue, sacct, scancel, scontrol). */
export interface SlurmSettings {
  /** Folder holding SLURM's commands; null: found on PATH. */
  bin: string | null;
  /**
   * A command that runs SLURM's commands elsewhere, e.g. `ssh login1`: it receives each SLURM
   * command as one shell command line (its last argument). Empty: run them here.
   */
  prefix: string[];
  /** The cluster to use (`--clusters`), for sites with several; null: the default one. */
  cluster: string | null;
}

export interface DocketConfig {
  home: string;
  /** A SQLite file path or a postgres:// URL. */
  db: string;
  /** The PostgreSQL schema holding docket's tables (null: the URL's `?schema=`, else `docket`). */
  schema: string | null;
  logsDir: string;
  worker: WorkerSettings;
  slurm: SlurmSettings;
  /** Local resources: what a worker hands out (null parts are detected at its start). */
  resources: ResourceSettings;
  /** Where each layer came from, for `docket config show`. */
  sources: Record<string, string>;
}

export interface ConfigInput {
  home?: string;
  db?: string;
  env?: NodeJS.ProcessEnv;
}

type FileConfig = Partial<{
  db: string;
  concurrency: number;
  idle_exit: string;
  grace: string;
  lease: string;
  on_demand: boolean;
  schema: string;
  prune_after: string;
  slurm_bin: string;
  /** A string split on spaces, or an argument list. */
  slurm_prefix: string | string[];
  slurm_cluster: string;
  // Local resources (see resources/inventory.ts).
  gpus: string | (string | number)[];
  cpus: string | number | number[];
  memory: string;
  pin: boolean;
}>;

/** Every key `config.json` may hold (others are refused: a typo would otherwise be ignored). */
const FILE_KEYS = [
  'db',
  'concurrency',
  'idle_exit',
  'grace',
  'lease',
  'on_demand',
  'schema',
  'prune_after',
  'slurm_bin',
  'slurm_prefix',
  'slurm_cluster',
  'gpus',
  'cpus',
  'memory',
  'pin',
] as const satisfies readonly (keyof FileConfig)[];

/** pino's levels: what DOCKET_LOG_LEVEL may say. */
const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

/** How often workers renew their leases. */
const HEARTBEAT_MS = 2000;

/**
 * The configuration: defaults < `$DOCKET_HOME/config.json` < `DOCKET_*` environment < `input`, frozen.
 * @throws InvalidInputError a bad value (or config.json), naming the setting.
 */
export function resolveConfig(input: ConfigInput = {}): Readonly<DocketConfig> {
  const env = input.env ?? process.env;
  const sources: Record<string, string> = {};
  const home = absolute(input.home ?? env.DOCKET_HOME ?? join(homedir(), '.docket'));
  sources.home = input.home ? 'flag --home' : env.DOCKET_HOME ? 'env DOCKET_HOME' : 'default';
  const file = readConfigFile(join(home, 'config.json'));
  const pick = <T>(name: string, flag: T | undefined, envName: string, fromFile: T | undefined, fallback: T): T => {
    const envValue = env[envName];
    const [source, value]: [string, T] =
      flag !== undefined
        ? ['flag', flag]
        : envValue !== undefined && envValue !== ''
          ? [`env ${envName}`, envValue as T]
          : fromFile !== undefined
            ? ['config.json', fromFile]
            : ['default', fallback];
    sources[name] = source;
    return value;
  };
  const dbText = pick('db', input.db, 'DOCKET_DB', file.db, join(home, 'docket.db'));
  const db = /^[a-z]+:\/\//.test(dbText) ? dbText : absolute(dbText);
  /** The name the user wrote a setting under, for messages: `DOCKET_LEASE`, or `lease in …/config.json`. */
  const origin = (name: string, envName: string) =>
    sources[name] === 'config.json' ? `"${name}" in ${join(home, 'config.json')}` : envName;
  const duration = (name: string, envName: string, fromFile: string | undefined, fallback: string) => {
    const text = String(pick(name, undefined, envName, fromFile, fallback));
    return parseDuration(text, origin(name, envName)) * 1000;
  };
  const concurrencyText = pick<unknown>(
    'concurrency',
    undefined,
    'DOCKET_CONCURRENCY',
    file.concurrency,
    availableParallelism(),
  );
  const concurrency = Number(concurrencyText);
  if (!/^\s*\d+\s*$/.test(String(concurrencyText)) || concurrency < 1) {
    throw new InvalidInputError(
      origin('concurrency', 'DOCKET_CONCURRENCY'),
      `${JSON.stringify(concurrencyText)} is not a positive integer`,
    );
  }
  const logLevel = env.DOCKET_LOG_LEVEL;
  if (logLevel !== undefined && logLevel !== '' && !LOG_LEVELS.includes(logLevel)) {
    throw new InvalidInputError('DOCKET_LOG_LEVEL', `"${logLevel}" is not a level; use ${LOG_LEVELS.join(', ')}`);
  }
  const leaseMs = duration('lease', 'DOCKET_LEASE', file.lease, '60s');
  if (leaseMs < 3 * HEARTBEAT_MS) {
    throw new InvalidInputError(
      'lease',
      `${leaseMs / 1000}s is shorter than 3 heartbeats (${(3 * HEARTBEAT_MS) / 1000}s), so one slow heartbeat would lose every job; set DOCKET_LEASE (or lease in config.json) to at least that`,
    );
  }
  const onDemand = flag(
    pick<unknown>('on_demand', undefined, 'DOCKET_ON_DEMAND', file.on_demand, null),
    origin('on_demand', 'DOCKET_ON_DEMAND'),
  );
  const schema = pick<string | null>('schema', undefined, 'DOCKET_SCHEMA', file.schema, null);
  const pruneAfter = pick<string | null>('prune_after', undefined, 'DOCKET_PRUNE_AFTER', file.prune_after, null);
  const config: DocketConfig = {
    home,
    db,
    schema,
    logsDir: join(home, 'logs'),
    worker: {
      concurrency,
      idleExitMs: duration('idle_exit', 'DOCKET_IDLE_EXIT', file.idle_exit, '30s'),
      graceMs: duration('grace', 'DOCKET_GRACE', file.grace, '5s'),
      leaseMs,
      heartbeatMs: HEARTBEAT_MS,
      pollMs: 1000,
      onDemand,
      pruneAfterMs:
        pruneAfter === null
          ? null
          : parseDuration(String(pruneAfter), origin('prune_after', 'DOCKET_PRUNE_AFTER')) * 1000,
    },
    slurm: slurmSettings(pick, file),
    resources: resourceSettings(pick, file, sources),
    sources,
  };
  return Object.freeze(config);
}

type Pick = <T>(name: string, flag: T | undefined, envName: string, fromFile: T | undefined, fallback: T) => T;

function slurmSettings(pick: Pick, file: FileConfig): SlurmSettings {
  const bin = pick<string>('slurm_bin', undefined, 'DOCKET_SLURM_BIN', file.slurm_bin, '');
  const prefix = pick<string | string[]>('slurm_prefix', undefined, 'DOCKET_SLURM_PREFIX', file.slurm_prefix, '');
  const cluster = pick<string>('slurm_cluster', undefined, 'DOCKET_SLURM_CLUSTER', file.slurm_cluster, '');
  const words = Array.isArray(prefix) ? prefix : String(prefix).split(/\s+/);
  if (!words.every((word) => typeof word === 'string')) {
    throw new InvalidInputError('slurm_prefix', 'must be a string or a list of strings (e.g. "ssh login1")');
  }
  return {
    bin: bin === '' ? null : absolute(String(bin)),
    prefix: words.filter((word) => word !== ''),
    cluster: cluster === '' ? null : String(cluster),
  };
}

/** Local resources: DOCKET_GPUS, DOCKET_CPUS, DOCKET_MEMORY, DOCKET_PIN or config.json's gpus, cpus, memory, pin. */
function resourceSettings(pick: Pick, file: FileConfig, sources: Record<string, string>): ResourceSettings {
  const text = (value: unknown): string | null =>
    value === null ? null : Array.isArray(value) ? value.join(',') : String(value);
  const gpus = text(pick<unknown>('gpus', undefined, 'DOCKET_GPUS', file.gpus, null));
  const cpus = text(pick<unknown>('cpus', undefined, 'DOCKET_CPUS', file.cpus, null));
  const memory = text(pick<unknown>('memory', undefined, 'DOCKET_MEMORY', file.memory, null));
  const pin = flag(
    pick<unknown>('pin', undefined, 'DOCKET_PIN', file.pin, false),
    sources.pin === 'config.json' ? '"pin" in config.json' : 'DOCKET_PIN',
  );
  const origin = (name: string) => sources[name] ?? 'default';
  return {
    gpus,
    cpus,
    memory,
    pin: pin === true,
    sources: { gpus: origin('gpus'), cpus: origin('cpus'), memory: origin('memory') },
  };
}

/** A yes/no setting: true/false (or 1/0); anything else is refused, naming where it was set. */
function flag(value: unknown, where: string): boolean | null {
  if (value === null) return null;
  if (value === true || value === 'true' || value === '1') return true;
  if (value === false || value === 'false' || value === '0') return false;
  throw new InvalidInputError(where, `${JSON.stringify(value)} is not true or false (or 1 or 0)`);
}

function absolute(path: string): string {
  const expanded = path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(expanded);
}

function readConfigFile(path: string): FileConfig {
  if (!existsSync(path)) return {};
  let unknownKey: string | undefined;
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    unknownKey = Object.keys(parsed).find((key) => !(FILE_KEYS as readonly string[]).includes(key));
    if (unknownKey === undefined) return parsed as FileConfig;
  } catch (error) {
    throw new InvalidInputError(
      'config',
      `${path} is not a valid JSON object (${(error as Error).message}); fix or remove it`,
    );
  }
  throw new InvalidInputError(
    'config',
    `${path} has an unknown key "${unknownKey}"; the keys are ${FILE_KEYS.join(', ')}`,
  );
}
