/**
 * A worker's local resources: its inventory, which its claims hand the store as data (the store
 * picks with core/fit.ts inside each claim), and the start of each claimed job with what its claim
 * allocated (launch.ts). The worker calls it at two points only: when a claim comes back (to read
 * what it allocated) and when it starts a job.
 */
import { type Allocation, asksForResources, type Inventory } from '../core/resources.js';
import type { Job } from '../core/words.js';
import type { ExecutionContext, Executor, RunningWork } from '../executors/executor.js';
import type { ApiReads, ResourceClaim } from '../storage/engine.js';
import { followCgroup, jobForLaunch } from './launch.js';
import { describeInventory } from './reasons.js';

export class LocalResources {
  /** What the claims of this worker allocated, until each job starts. */
  private readonly chosen = new Map<number, Allocation>();
  /** What each claim of this worker hands the store. */
  readonly claim: ResourceClaim;

  constructor(readonly inventory: Inventory) {
    this.claim = { inventory };
  }

  /**
   * Reads what a claim that just committed allocated to the jobs it took that ask for resources
   * (recorded on their attempts in the claim's transaction), before they start. Nothing to read,
   * and no round trip, when none of them asks for any.
   */
  async claimed(store: Pick<ApiReads, 'allocations'>, jobs: readonly Job[]): Promise<void> {
    const asking = jobs.filter((job) => asksForResources(job.resources));
    if (asking.length === 0) return;
    const runNo = new Map(asking.map((job) => [job.id, job.runNo]));
    for (const record of await store.allocations({ jobIds: [...runNo.keys()] })) {
      if (runNo.get(record.jobId) !== record.attempt) continue; // an earlier attempt's
      const { gpus, cpus, memoryBytes, pinned, memoryEnforced } = record;
      this.chosen.set(record.jobId, { gpus, cpus, memoryBytes, pinned, memoryEnforced });
    }
  }

  /** The inventory in one line, as `docket worker` prints it at start. */
  describe(): string {
    return describeInventory(this.inventory);
  }

  /** Starts a claimed job with its allocation's environment, affinity and memory limit. */
  start(job: Job, executor: Executor, context: ExecutionContext): RunningWork {
    const allocation = this.chosen.get(job.id);
    this.chosen.delete(job.id);
    if (!allocation) return executor.start(job, context);
    const { job: launched, cgroup } = jobForLaunch(job, allocation, this.inventory);
    const work = executor.start(launched, context);
    return cgroup ? followCgroup(work, cgroup, allocation.memoryBytes) : work;
  }
}
