/** Reading a job's log files: byte ranges, the last lines, and which part of a file each attempt wrote. */
import { closeSync, existsSync, fstatSync, openSync, readFileSync, readSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { ATTEMPTS_FILE, parseAttemptMarks } from '../core/log-marks.js';

export type Stream = 'stdout' | 'stderr';

/** A part of a log file written by one attempt (`attempt` null where no mark says: logs older than marks). */
export interface Segment {
  attempt: number | null;
  /** When the attempt started (ms), if marked. */
  at: number | null;
  start: number;
  end: number;
}

/** Bytes `start` to `end` of a file. */
export function readRange(path: string, start: number, end: number): Buffer {
  const fd = openSync(path, 'r');
  try {
    const buffer = Buffer.alloc(Math.max(0, end - start));
    let read = 0;
    while (read < buffer.length) {
      const count = readSync(fd, buffer, read, buffer.length - read, start + read);
      if (count <= 0) break;
      read += count;
    }
    return buffer.subarray(0, read);
  } finally {
    closeSync(fd);
  }
}

export function fileSize(path: string): number {
  const fd = openSync(path, 'r');
  try {
    return fstatSync(fd).size;
  } finally {
    closeSync(fd);
  }
}

/** The last `maxBytes` of a file (all of it for 0) as text, its size, and whether it was cut. */
export function readTail(path: string, maxBytes: number): { content: string; size: number; truncated: boolean } {
  const size = fileSize(path);
  const length = maxBytes === 0 ? size : Math.min(size, maxBytes);
  const content = readRange(path, size - length, size).toString('utf8');
  return { content, size, truncated: length < size };
}

/** The last `count` lines of a text (a final newline does not count as an empty line). */
export function lastLines(text: string, count: number): string {
  if (count === 0) return '';
  const lines = text.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  return lines.slice(-count).join('\n') + (text.endsWith('\n') ? '\n' : '');
}

/** The last `count` lines of a file, reading at most its last `maxBytes`; '' for a missing file. */
export function tailFile(path: string, count: number, maxBytes = 64 * 1024): string {
  if (!existsSync(path)) return '';
  return lastLines(readTail(path, maxBytes).content, count);
}

/**
 * The parts of a log file each attempt wrote, from the marks the executor left beside it. A file
 * without marks is one segment of unknown attempt.
 */
export function segments(path: string, stream: Stream): Segment[] {
  const size = existsSync(path) ? fileSize(path) : 0;
  const marksPath = join(dirname(path), ATTEMPTS_FILE);
  const marks = existsSync(marksPath) ? parseAttemptMarks(readFileSync(marksPath, 'utf8')) : [];
  const parts: Segment[] = [];
  const firstStart = marks[0]?.[stream] ?? size;
  if (firstStart > 0) parts.push({ attempt: null, at: null, start: 0, end: firstStart });
  marks.forEach((mark, index) => {
    const end = Math.min(marks[index + 1]?.[stream] ?? size, size);
    parts.push({ attempt: mark.attempt, at: mark.at, start: Math.min(mark[stream], size), end });
  });
  return parts;
}
