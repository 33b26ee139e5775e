/**
 * docket's closed set of errors. Each carries the CLI exit code (and, later, the HTTP status)
 * that it maps to, so every surface reports the same failure the same way.
 */

export const EXIT = {
  ok: 0,
  failure: 1,
  usage: 2,
  notFound: 3,
  invalidState: 4,
  timeout: 124,
  cancelled: 130,
} as const;

export class DocketError extends Error {
  readonly exitCode: number = EXIT.failure;
  override name = 'DocketError';
}

/** Bad input: a flag, a field or a value that cannot be accepted. Nothing was changed. */
export class InvalidInputError extends DocketError {
  override readonly exitCode: number = EXIT.usage;
  override name = 'InvalidInputError';
  constructor(
    readonly field: string,
    message: string,
  ) {
    super(`${field}: ${message}`);
  }
}

/** No job (or other record) with that id. */
export class NotFoundError extends DocketError {
  override readonly exitCode: number = EXIT.notFound;
  override name = 'NotFoundError';
}

/** The job's state does not allow the move; the job is unchanged. */
export class InvalidStateError extends DocketError {
  override readonly exitCode: number = EXIT.invalidState;
  override name = 'InvalidStateError';
}

/** A store whose schema is newer than this code, or otherwise unusable. */
export class StorageError extends DocketError {
  override readonly exitCode: number = EXIT.failure;
  override name = 'StorageError';
}
