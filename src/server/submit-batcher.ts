/**
 * Group commit for `POST /jobs`: submits that arrive while one is being stored wait and go into
 * the next store call together — one transaction (SQLite) or one statement (PostgreSQL) for many
 * requests instead of one each. Each request still gets its own result: the engine reports every
 * job of a batch (created, or the existing job of its key, also for a key twice in one batch), and
 * a batch refused for one submit's input is stored again one by one, so that submit fails alone. After-commit work
 * (waking or starting workers, the SLURM hand-over) is the facade's, per job, as for any submit.
 */
import { InvalidInputError, InvalidStateError, NotFoundError } from '../core/errors.js';
import type { JobSpec } from '../core/words.js';
import type { SubmitResult } from '../docket-types.js';
import type { JobService } from '../job-service.js';

/** Who submits: the token's tenant and user. */
export interface Owner {
  tenant: string;
  user: string | null;
}

interface Waiting {
  spec: JobSpec;
  owner: Owner;
  resolve: (result: SubmitResult) => void;
  reject: (error: unknown) => void;
}

/** Submits stored together at most (the bound keeps one transaction short). */
const MAX_BATCH = 200;
/**
 * Store calls on their way at once. More than one, so that a batch that waits in the store (on
 * PostgreSQL an insert can wait for a row lock: the same key in a caller's open transaction, a
 * parent locked by a worker) does not hold up every other submit, as one request waiting alone
 * would not; a few, so that the store's connections stay free for everything else.
 */
const MAX_IN_FLIGHT = 4;

export class SubmitBatcher {
  private waiting: Waiting[] = [];
  private inFlight = 0;
  private scheduled = false;

  /** With `together` false (a store whose many-job call costs more, see `groupCommit`) each submit goes alone. */
  constructor(
    private readonly service: JobService,
    private readonly together: boolean,
  ) {}

  /** Stores one job (with the others waiting now); resolves to its own result or rejects with its own error. */
  submit(spec: JobSpec, owner: Owner): Promise<SubmitResult> {
    if (!this.together) return this.store1(spec, owner);
    return new Promise((resolve, reject) => {
      this.waiting.push({ spec, owner, resolve, reject });
      // The first submit of a quiet moment starts after the requests read in the same turn of the
      // event loop (SQLite's store calls never wait, so only this gathers them).
      if (!this.scheduled && this.inFlight < MAX_IN_FLIGHT) {
        this.scheduled = true;
        setImmediate(() => this.pump());
      }
    });
  }

  /** Sends what waits, in batches, while fewer than MAX_IN_FLIGHT are on their way; each end sends more. */
  private pump(): void {
    this.scheduled = false;
    while (this.waiting.length > 0 && this.inFlight < MAX_IN_FLIGHT) {
      this.inFlight++;
      void this.storeBatch(this.waiting.splice(0, MAX_BATCH)).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  /** One batch: each owner's submits together (a job records its tenant and user), owners side by side. */
  private async storeBatch(batch: Waiting[]): Promise<void> {
    const byOwner = new Map<string, Waiting[]>();
    for (const item of batch) {
      const key = JSON.stringify([item.owner.tenant, item.owner.user]);
      const group = byOwner.get(key);
      if (group) group.push(item);
      else byOwner.set(key, [item]);
    }
    await Promise.all([...byOwner.values()].map((group) => this.store(group)));
  }

  private async store(group: Waiting[]): Promise<void> {
    if (group.length > 1) {
      try {
        const results = await this.service.submit(
          group.map((item) => item.spec),
          (group[0] as Waiting).owner,
        );
        for (const [index, item] of group.entries()) item.resolve(results[index] as SubmitResult);
        return;
      } catch (error) {
        // A refused submit (bad input, a missing dependency) stored nothing: store each on its own,
        // so that only it fails. Any other failure may come after the commit (a worker that would
        // not start): storing again would duplicate the jobs, so all get it, as one submit would.
        if (
          !(error instanceof InvalidInputError || error instanceof NotFoundError || error instanceof InvalidStateError)
        ) {
          for (const item of group) item.reject(error);
          return;
        }
      }
    }
    for (const item of group) await this.store1(item.spec, item.owner).then(item.resolve, item.reject);
  }

  private async store1(spec: JobSpec, owner: Owner): Promise<SubmitResult> {
    const [result] = await this.service.submit([spec], owner);
    if (!result) throw new Error('submit returned nothing');
    return result;
  }
}
