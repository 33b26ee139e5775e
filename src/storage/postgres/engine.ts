/**
 * The PostgreSQL engine: the storage port over one schema, built from its parts (one file each, the
 * same set as the SQLite engine's; see ../parts.ts for which part answers which operation).
 */
import type { AllocationRecord } from '../../core/resources.js';
import type { NewJob } from '../../core/spec.js';
import type {
  AllocationFilter,
  CallerTransaction,
  CallerTransactions,
  ChangeNotices,
  EngineCapabilities,
  StorageEngine,
  StoreNotice,
  SubmitResult,
} from '../engine.js';
import { type EngineParts, RoutedEngine } from '../parts.js';
import { PostgresAllocations } from './allocations.js';
import { PostgresApiStore } from './api.js';
import { PostgresCatalog } from './catalog.js';
import { PostgresClaims } from './claims.js';
import { PostgresCommands } from './commands.js';
import { createPool, PostgresConnection, parseTarget } from './connection.js';
import { PostgresExternalJobs } from './external.js';
import { PostgresJobs } from './jobs.js';
import { listenForNotices } from './notices.js';
import { PostgresOutcomes } from './outcomes.js';
import { PostgresSchema } from './schema.js';
import { PostgresWorkers } from './workers.js';

export type { Queryable } from './connection.js';

export interface PostgresOptions {
  /** `postgres://…`, optionally with `?schema=NAME` (default `docket`). */
  url: string;
  /** Overrides the URL's schema. */
  schema?: string;
  /** Connections in the pool (default 10). */
  poolSize?: number;
  /** Where dropped connections and reconnects are reported (default: one line on stderr). */
  warn?: (message: string) => void;
}

/** The parts of a PostgreSQL engine on one connection pool. */
function partsOn(
  conn: PostgresConnection,
  allocations: PostgresAllocations,
): EngineParts & { schema: PostgresSchema; jobs: PostgresJobs } {
  const jobs = new PostgresJobs(conn);
  const claims = new PostgresClaims(conn, allocations);
  const outcomes = new PostgresOutcomes(conn, claims);
  return {
    schema: new PostgresSchema(conn),
    jobs,
    claims,
    outcomes,
    commands: new PostgresCommands(conn, jobs, outcomes),
    workers: new PostgresWorkers(conn),
    catalog: new PostgresCatalog(conn.pool, (work) => conn.transaction(work), conn.channel),
    external: new PostgresExternalJobs(conn, outcomes),
    api: new PostgresApiStore(conn, conn.target.connectionString),
  };
}

export class PostgresEngine extends RoutedEngine implements StorageEngine, ChangeNotices, CallerTransactions {
  readonly capabilities: EngineCapabilities = {
    name: 'postgres',
    singleHost: false,
    onDemandWorkers: false,
    pushesChanges: this,
    groupCommit: true,
    callerTransactions: this,
  };
  readonly schema: string;
  private readonly schemaPart: PostgresSchema;

  private readonly allocationStore: PostgresAllocations;
  private readonly jobsPart: PostgresJobs;

  private constructor(private readonly conn: PostgresConnection) {
    const allocationStore = new PostgresAllocations(conn);
    const parts = partsOn(conn, allocationStore);
    super(parts);
    this.allocationStore = allocationStore;
    this.schema = conn.schema;
    this.schemaPart = parts.schema;
    this.jobsPart = parts.jobs;
  }

  static async connect(options: PostgresOptions): Promise<PostgresEngine> {
    const target = parseTarget(options.url, options.schema);
    const warn = options.warn ?? ((message: string) => process.stderr.write(`docket: ${message}\n`));
    return new PostgresEngine(
      new PostgresConnection(await createPool(target, options.poolSize ?? 10, warn), target, warn),
    );
  }

  async close(): Promise<void> {
    for (const client of this.conn.listeners) await client.end().catch(() => {});
    this.conn.listeners.clear();
    await this.conn.pool.end();
  }

  /** Drops the whole schema (tests use one schema each). */
  dropSchema(): Promise<void> {
    return this.schemaPart.dropSchema();
  }

  /** VACUUMs the tables whose dead row versions piled up (see schema.ts). */
  maintain(): Promise<string[]> {
    return this.schemaPart.maintain();
  }

  allocations(filter: AllocationFilter): Promise<AllocationRecord[]> {
    return this.allocationStore.list(filter);
  }

  /** Inserts jobs in the caller's open transaction (checked: see connection.ts). */
  submitWithin(transaction: CallerTransaction, jobs: NewJob[]): Promise<SubmitResult[]> {
    return this.jobsPart.submit(jobs, transaction);
  }

  /** LISTENs for the notices of this docket (see notices.ts). */
  listen(onNotice: (notice: StoreNotice) => void): Promise<() => Promise<void>> {
    return listenForNotices(
      this.conn.target.connectionString,
      this.schema,
      this.conn.listeners,
      onNotice,
      this.conn.warn,
    );
  }
}
