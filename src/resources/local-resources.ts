/**
 * A worker's local resources: its inventory, the claim policy it hands the store (fit.ts), and the
 * start of each claimed job with what its claim allocated (launch.ts). The worker holds one of
 * these and calls it at two points only: when it claims and when it starts a job.
 */
import type { Allocation, AllocationRecord, ClaimCandidate, Inventory, Selected } from '../core/resources.js';
import type { Job } from '../core/words.js';
import type { ExecutionContext, Executor, RunningWork } from '../executors/executor.js';
import type { ResourceClaim } from '../storage/engine.js';
import { selectFitting } from './fit.js';
import { followCgroup, jobForLaunch } from './launch.js';
import { describeInventory } from './reasons.js';

export class LocalResources {
  /** What the claims of this worker allocated, until each job starts. */
  private readonly chosen = new Map<number, Allocation>();
  /** The policy the store applies inside each claim. */
  readonly claim: ResourceClaim;

  constructor(readonly inventory: Inventory) {
    this.claim = {
      select: (held: AllocationRecord[], candidates: ClaimCandidate[], slots: number): Selected[] => {
        const selected = selectFitting(this.inventory, held, candidates, slots);
        for (const choice of selected) if (choice.allocation) this.chosen.set(choice.id, choice.allocation);
        return selected;
      },
    };
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
