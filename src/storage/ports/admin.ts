/**
 * Opening, migrating and resetting the store, and its housekeeping.
 */
import type { EngineCapabilities } from './capabilities.js';

export interface StoreIdentity {
  /** A random id, fixed for the store's life. */
  id: string;
  /** Jobs up to this id may have logs in the place older versions used; 0 when none can. */
  legacyLogsMaxId: number;
}

/** Opening, migrating and resetting the store, and its housekeeping. */
export interface StoreAdmin {
  readonly capabilities: EngineCapabilities;
  /** Applies pending migrations under a lock; refuses a store newer than the code. */
  migrate(): Promise<{ from: number; to: number }>;
  schemaVersion(): Promise<number>;
  close(): Promise<void>;
  /** Drops every record (config reset-db); the store keeps its identity. */
  reset(): Promise<void>;
  /** The store's identity (made by its first migration): files kept outside it are filed under it. */
  identity(): Promise<StoreIdentity>;
  /**
   * Housekeeping a worker runs now and then (about once a minute): on PostgreSQL, a VACUUM of the
   * tables whose dead row versions piled up, so that the updates every job goes through never
   * grow a table without bound, even where autovacuum is off or behind. Returns what it did.
   */
  maintain?(): Promise<string[]>;
  /**
   * True when the store this engine opened is no longer there: its SQLite file deleted or replaced,
   * its PostgreSQL schema dropped. A store that cannot be reached right now throws instead: that
   * is an outage, not a store gone.
   */
  vanished(): Promise<boolean>;
}
