/**
 * A job's stdout/stderr: the tail of the file, then — while the job is alive — the lines as they
 * are written, over the log endpoint's event stream. Always text, never HTML.
 */
import { useEffect, useRef, useState } from 'preact/hooks';
import { api } from '../api';
import { ErrorNote } from '../components/ui';
import { readEventStream } from '../sse';

/** Lines fetched from the end of a log; the page keeps at most KEEP characters of it. */
const TAIL_LINES = 500;
const KEEP = 1_000_000;

/** A log chunk event may carry the text as plain data or as JSON `{text}` / `{data}` / `{line}`. */
function chunkText(data: string): string {
  try {
    const parsed = JSON.parse(data) as unknown;
    if (typeof parsed === 'string') return parsed;
    if (parsed && typeof parsed === 'object') {
      const record = parsed as Record<string, unknown>;
      for (const key of ['text', 'data', 'chunk', 'line']) {
        if (typeof record[key] === 'string') return (record[key] as string) + (key === 'line' ? '\n' : '');
      }
    }
  } catch {
    // plain text
  }
  return `${data}\n`;
}

export function LogView({ jobId, live, onEnded }: { jobId: number; live: boolean; onEnded: () => void }) {
  const [stream, setStream] = useState<'stdout' | 'stderr'>('stdout');
  const [text, setText] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [following, setFollowing] = useState(false);
  const box = useRef<HTMLPreElement>(null);
  const stick = useRef(true);

  useEffect(() => {
    const controller = new AbortController();
    setText('');
    setError(null);
    const append = (more: string) =>
      setText((current) => {
        const next = current + more;
        return next.length > KEEP ? next.slice(next.length - KEEP) : next;
      });
    void (async () => {
      try {
        if (!live) {
          append(
            await api<string>(`jobs/${jobId}/logs?stream=${stream}&tail=${TAIL_LINES}`, { signal: controller.signal }),
          );
          return;
        }
        setFollowing(true);
        await readEventStream(
          `jobs/${jobId}/logs?stream=${stream}&tail=${TAIL_LINES}&follow=1`,
          (event) => {
            if (event.type === 'end' || event.type === 'eof') return;
            append(chunkText(event.data));
          },
          { signal: controller.signal },
        );
        setFollowing(false);
        onEnded();
      } catch (caught) {
        if (!controller.signal.aborted) {
          setFollowing(false);
          setError(caught);
        }
      }
    })();
    return () => controller.abort();
  }, [jobId, stream, live]);

  useEffect(() => {
    const element = box.current;
    if (element && stick.current) element.scrollTop = element.scrollHeight;
  }, [text]);

  return (
    <div class="logs">
      <fieldset class="tabs">
        <legend class="sr-only">Log stream</legend>
        {(['stdout', 'stderr'] as const).map((name) => (
          <button key={name} type="button" aria-pressed={stream === name} onClick={() => setStream(name)}>
            {name}
          </button>
        ))}
        <span class="muted" aria-live="polite">
          {following ? 'following live…' : `last ${TAIL_LINES} lines`}
        </span>
      </fieldset>
      <ErrorNote error={error} />
      <pre
        ref={box}
        class="log"
        role="log"
        data-stream={stream}
        // biome-ignore lint/a11y/noNoninteractiveTabindex: the log scrolls, and a scroll area must be reachable by keyboard
        tabIndex={0}
        aria-label={`${stream} of job ${jobId}`}
        onScroll={(event) => {
          const element = event.currentTarget;
          stick.current = element.scrollHeight - element.scrollTop - element.clientHeight < 24;
        }}
      >
        {text || (following ? '' : '(empty)')}
      </pre>
    </div>
  );
}
