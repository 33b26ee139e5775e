/**
 * The package entry exports everything a program names in code: the values checked here at run
 * time, the types by this file's own type-check (`npm run typecheck` compiles the tests).
 */
import { describe, expect, expectTypeOf, it } from 'vitest';
import type {
  ConfiguredType,
  Handler,
  HandlerContext,
  IterateFilter,
  Job,
  JobEvent,
  JobFilter,
  JobGroupDefinition,
  JobSpec,
  JobTypeDefinition,
  JobWithAttempts,
  OpenOptions,
  QueueInfo,
  RefreshOptions,
  StopReason,
  SubmitOptions,
  SubmitResult,
  WaitOptions,
  WorkerConfigFile,
} from '../../src/index.js';
import * as docket from '../../src/index.js';

describe('the package entry', () => {
  it('exports the facade, the errors, JobAbortedError and defineConfig (item 11)', () => {
    const values = [
      docket.Docket,
      docket.DocketError,
      docket.InvalidInputError,
      docket.NotFoundError,
      docket.InvalidStateError,
      docket.StorageError,
      docket.JobAbortedError,
      docket.defineConfig,
    ];
    for (const value of values) expect(typeof value).toBe('function');
    const aborted = new docket.JobAbortedError('suspend');
    expect(aborted.reason).toBe('suspend');
    expectTypeOf(aborted.reason).toEqualTypeOf<StopReason>();
  });

  it('defineConfig returns the config it was given, typed (item 11)', () => {
    const handler: Handler<{ to: string }, string> = ({ params }: HandlerContext<{ to: string }>) => params.to;
    const type: JobTypeDefinition<{ to: string }, string> = { name: 'send', handler };
    const configured: ConfiguredType = { name: 'report', handler: './jobs/report.ts' };
    const file: WorkerConfigFile = { types: [configured], queues: [{ name: 'email', capacity: 2 }] };
    expect(docket.defineConfig(file)).toBe(file);
    expect(type.name).toBe('send');
    expectTypeOf<JobEvent['job']>().toEqualTypeOf<Job>();
    expectTypeOf<SubmitOptions['startWorkers']>().toEqualTypeOf<boolean | undefined>();
    expectTypeOf<
      [OpenOptions, WaitOptions, RefreshOptions, IterateFilter, JobFilter, JobSpec, JobWithAttempts, JobGroupDefinition]
    >().not.toBeAny();
    expectTypeOf<[QueueInfo, SubmitResult]>().not.toBeAny();
  });
});
