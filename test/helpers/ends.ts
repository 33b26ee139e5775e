/** Ending one attempt through the port's one way to end attempts (QueueOperations.endAttempts). */
import type { Job } from '../../src/core/words.js';
import type { AttemptEnd, QueueOperations } from '../../src/storage/engine.js';

/** Ends one attempt; the job as the end left it, or null when the attempt no longer owned it. */
export async function endOne(engine: Pick<QueueOperations, 'endAttempts'>, end: AttemptEnd): Promise<Job | null> {
  return (await engine.endAttempts([end])).ended[0] ?? null;
}
