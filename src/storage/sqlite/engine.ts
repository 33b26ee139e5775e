/**
 * The embedded engine: the storage port over one SQLite file shared safely by many processes (see
 * connection.ts), built from its parts (one file each, the same set as the PostgreSQL engine's;
 * see ../parts.ts for which part answers which operation).
 */
import type { AllocationRecord } from '../../core/resources.js';
import type { AllocationFilter, EngineCapabilities, StorageEngine } from '../engine.js';
import { type EngineParts, RoutedEngine } from '../parts.js';
import type { JobRow } from '../rows.js';
import { SqliteAllocations } from './allocations.js';
import { SqliteApiStore } from './api.js';
import { SqliteCatalog } from './catalog.js';
import { SqliteClaims } from './claims.js';
import { SqliteCommands } from './commands.js';
import { SqliteConnection } from './connection.js';
import { ExternalJobs } from './external.js';
import { SqliteJobs } from './jobs.js';
import { SqliteOutcomes } from './outcomes.js';
import { SqliteSchema } from './schema.js';
import { SqliteWorkers } from './workers.js';

export interface SqliteOptions {
  /** Path of the database file (created with its folder if missing). */
  path: string;
}

/** The parts of a SQLite engine on one open file. */
function partsOn(conn: SqliteConnection, allocations: SqliteAllocations): EngineParts {
  const sql = (text: string) => conn.sql(text);
  const write = <T>(work: () => T): T => conn.write(work);
  const attachDeps = (rows: JobRow[]) => conn.attachDeps(rows);
  const jobs = new SqliteJobs(conn);
  const claims = new SqliteClaims(conn, allocations);
  const outcomes = new SqliteOutcomes(conn, claims);
  return {
    schema: new SqliteSchema(conn),
    jobs,
    claims,
    outcomes,
    commands: new SqliteCommands(conn, jobs, outcomes),
    workers: new SqliteWorkers(conn),
    catalog: new SqliteCatalog(sql, write),
    external: new ExternalJobs(
      sql,
      write,
      (jobId, attempt, outcome) => outcomes.settle(jobId, attempt, outcome),
      attachDeps,
    ),
    api: new SqliteApiStore(
      sql,
      write,
      (work) => conn.read(work),
      (row) => conn.withDeps(row),
    ),
  };
}

export class SqliteEngine extends RoutedEngine implements StorageEngine {
  readonly capabilities: EngineCapabilities = {
    name: 'sqlite',
    singleHost: true,
    onDemandWorkers: true,
    pushesChanges: null,
    groupCommit: true,
    callerTransactions: null,
  };

  private readonly conn: SqliteConnection;
  private readonly allocationStore: SqliteAllocations;

  constructor(options: SqliteOptions) {
    const conn = new SqliteConnection(options.path);
    const allocationStore = new SqliteAllocations((text) => conn.sql(text));
    super(partsOn(conn, allocationStore));
    this.conn = conn;
    this.allocationStore = allocationStore;
  }

  async close(): Promise<void> {
    if (this.conn.db.open) this.conn.db.close();
  }

  async allocations(filter: AllocationFilter): Promise<AllocationRecord[]> {
    return this.allocationStore.list(filter);
  }
}
