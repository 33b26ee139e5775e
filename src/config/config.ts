/**
 * One layered configuration: defaults < `$DOCKET_HOME/config.json` < environment < flags,
 * validated once and passed down frozen.
 */
import { existsSync, readFileSync } from 'node:fs';
import { availableParallelism, homedir } from 'node:os';
import { isAbsolute, join, resolve } from 'node:path';
import { InvalidInputError } from '../core/errors.js';
import { parseDuration } from '../core/units.js';

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
  /** Start a worker in the background when a job is submitted and none serves its queue. */
  onDemand: boolean;
}

export interface DocketConfig {
  home: string;
  /** A SQLite file path (or, later, a postgres:// URL). */
  db: string;
  logsDir: string;
  worker: WorkerSettings;
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
}>;

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
  const duration = (name: string, envName: string, fromFile: string | undefined, fallback: string) =>
    parseDuration(String(pick(name, undefined, envName, fromFile, fallback)), name) * 1000;
  const concurrency = Number(
    pick('concurrency', undefined, 'DOCKET_CONCURRENCY', file.concurrency, availableParallelism()),
  );
  if (!Number.isInteger(concurrency) || concurrency < 1) {
    throw new InvalidInputError(
      'concurrency',
      `${concurrency} must be a positive integer (DOCKET_CONCURRENCY or config.json)`,
    );
  }
  const onDemand: unknown = pick<unknown>('on_demand', undefined, 'DOCKET_ON_DEMAND', file.on_demand, true);
  const config: DocketConfig = {
    home,
    db,
    logsDir: join(home, 'logs'),
    worker: {
      concurrency,
      idleExitMs: duration('idle_exit', 'DOCKET_IDLE_EXIT', file.idle_exit, '30s'),
      graceMs: duration('grace', 'DOCKET_GRACE', file.grace, '5s'),
      leaseMs: duration('lease', 'DOCKET_LEASE', file.lease, '60s'),
      heartbeatMs: 2000,
      pollMs: 1000,
      onDemand: onDemand === true || onDemand === 'true' || onDemand === '1',
    },
    sources,
  };
  return Object.freeze(config);
}

function absolute(path: string): string {
  const expanded = path.startsWith('~/') ? join(homedir(), path.slice(2)) : path;
  return isAbsolute(expanded) ? expanded : resolve(expanded);
}

function readConfigFile(path: string): FileConfig {
  if (!existsSync(path)) return {};
  try {
    const parsed = JSON.parse(readFileSync(path, 'utf8'));
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw new Error('not an object');
    return parsed as FileConfig;
  } catch (error) {
    throw new InvalidInputError(
      'config',
      `${path} is not a valid JSON object (${(error as Error).message}); fix or remove it`,
    );
  }
}
