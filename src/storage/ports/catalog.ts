/**
 * The catalog: queue settings, job types and job groups.
 */
import type { JobGroupDefinition, StoredJobType } from '../../core/job-types.js';
import type { StatusCounts } from '../../core/words.js';

export interface QueueSettings {
  /** Most jobs of the queue running at once across all workers; null for no limit. */
  capacity?: number | null;
  paused?: boolean;
}

export interface QueueInfo {
  name: string;
  capacity: number | null;
  paused: boolean;
  counts: StatusCounts;
}

/** The catalog: queue settings, job types and job groups. */
export interface JobCatalog {
  setQueue(name: string, settings: QueueSettings): Promise<QueueInfo>;
  /** Deletes a queue's settings if no job (in any state) is in it; false when some job is. */
  removeQueue(name: string): Promise<boolean>;
  listQueues(): Promise<QueueInfo[]>;
  saveJobTypes(types: StoredJobType[]): Promise<void>;
  listJobTypes(): Promise<StoredJobType[]>;
  saveJobGroups(groups: JobGroupDefinition[]): Promise<void>;
  listJobGroups(): Promise<JobGroupDefinition[]>;
}
