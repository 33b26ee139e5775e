/** Applies one change to several jobs, reporting each failure on its own line and going on. */
import { DocketError } from '../core/errors.js';
import { parseJobId } from '../core/units.js';
import type { Job } from '../core/words.js';
import { emit, type GlobalOptions } from './context.js';
import { jobJson } from './format.js';

export async function forEachJob(
  options: GlobalOptions,
  ids: string[],
  verb: string,
  change: (id: number) => Promise<Job>,
): Promise<number> {
  const jobIds = ids.map(parseJobId); // refuse bad input before changing anything
  const changed: Job[] = [];
  let exitCode = 0;
  for (const id of jobIds) {
    try {
      changed.push(await change(id));
    } catch (error) {
      if (!(error instanceof DocketError)) throw error;
      process.stderr.write(`docket: ${error.message}\n`);
      exitCode ||= error.exitCode;
    }
  }
  emit(options, changed.map(jobJson), () => changed.map((job) => `${job.id}\t${verb}\t${job.status}`).join('\n'));
  return exitCode;
}
