/** Applies one change to several jobs, reporting each failure on its own line and going on. */
import { DocketError } from '../core/errors.js';
import { parseJobId } from '../core/units.js';
import type { Job } from '../core/words.js';
import { emit, type GlobalOptions } from './context.js';
import { errorJson } from './errors.js';
import { jobJson } from './format.js';

/**
 * Changes each job named, printing one sentence per job changed (`describe`) and one `docket: …`
 * line per refusal. With --json: the changed jobs, or, when none changed, the error document.
 */
export async function forEachJob(
  options: GlobalOptions,
  ids: string[],
  change: (id: number) => Promise<Job>,
  describe: (job: Job) => string,
): Promise<number> {
  const jobIds = ids.map((id) => parseJobId(id)); // refuse bad input before changing anything
  const changed: Job[] = [];
  const refused: DocketError[] = [];
  for (const id of jobIds) {
    try {
      changed.push(await change(id));
    } catch (error) {
      if (!(error instanceof DocketError)) throw error;
      process.stderr.write(`docket: ${error.message}\n`);
      refused.push(error);
    }
  }
  const exitCode = refused[0]?.exitCode ?? 0;
  if (options.json && changed.length === 0 && refused.length > 0) {
    emit(options, errorJson(refused.map((error) => error.message).join('; '), exitCode), () => '');
  } else {
    emit(options, changed.map(jobJson), () => changed.map(describe).join('\n'));
  }
  return exitCode;
}
