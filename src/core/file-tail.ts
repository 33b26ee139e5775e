/**
 * What was appended to a file since the last look: `docket logs --follow` copies it out, the
 * command executor reads `::progress` lines from it. Nothing is held open between looks, and
 * nothing is allocated or opened while the file has not grown (a short job costs one stat).
 */
import { closeSync, openSync, readSync, statSync } from 'node:fs';

const CHUNK_BYTES = 64 * 1024;

export class FileTail {
  private buffer: Buffer | null = null;

  /** `position`: where reading starts (an attempt's output starts where the last one's ended). */
  constructor(
    private readonly path: string,
    private position = 0,
  ) {}

  /**
   * Hands every chunk appended since the last call to `onChunk`, in order. A chunk is a view of a
   * buffer that the next read reuses: copy what you keep. A file that does not exist (yet) has
   * nothing to read.
   */
  read(onChunk: (chunk: Buffer) => void): void {
    const size = statSync(this.path, { throwIfNoEntry: false })?.size ?? 0;
    if (size <= this.position) return;
    this.buffer ??= Buffer.alloc(CHUNK_BYTES);
    const fd = openSync(this.path, 'r');
    try {
      for (;;) {
        const count = readSync(fd, this.buffer, 0, this.buffer.length, this.position);
        if (count <= 0) return;
        this.position += count;
        onChunk(this.buffer.subarray(0, count));
      }
    } finally {
      closeSync(fd);
    }
  }
}
