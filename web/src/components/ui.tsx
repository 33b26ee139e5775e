/** Small building blocks every page uses: state badges, times, progress, errors, dialogs. */
import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';
import { ApiError } from '../api';
import { exactTime, relativeTime, useNow } from '../format';
import type { Job, JobState } from '../types';

/** A symbol per state, so a state never reads by colour alone. */
const SYMBOL: Record<JobState, string> = {
  pending: '○',
  running: '▶',
  suspended: '❚❚',
  completed: '✓',
  failed: '✕',
  timeout: '⧗',
  cancelled: '⊘',
  skipped: '↷',
};

/** The state as people read it: pending jobs say whether they are delayed or blocked. */
export function stateLabel(job: Pick<Job, 'status' | 'blocked' | 'run_at'>, now = Date.now()): string {
  if (job.status !== 'pending') return job.status;
  if (job.blocked) return 'blocked';
  if (Date.parse(job.run_at) > now) return 'delayed';
  return 'pending';
}

export function StateBadge({ job, state }: { job?: Pick<Job, 'status' | 'blocked' | 'run_at'>; state?: JobState }) {
  const status = job?.status ?? state ?? 'pending';
  const label = job ? stateLabel(job) : status;
  return (
    <span class={`state state-${status}`} data-state={label}>
      <span aria-hidden="true">{SYMBOL[status]}</span> {label}
    </span>
  );
}

/** A relative time with the exact time on hover (and for screen readers in `datetime`). */
export function Time({ iso }: { iso: string | null | undefined }) {
  const now = useNow();
  if (!iso) return <span class="muted">–</span>;
  return (
    <time dateTime={iso} title={exactTime(iso)}>
      {relativeTime(iso, now)}
    </time>
  );
}

export function Progress({ value, message }: { value: number | null; message?: string | null }) {
  if (value === null) return <span class="muted">–</span>;
  const percent = Math.round(value * 100);
  return (
    <span class="progress">
      <progress value={value} max={1} aria-label={`progress ${percent}%`} />
      <span>
        {percent}%{message ? ` ${message}` : ''}
      </span>
    </span>
  );
}

/** An API error (or any error) in words, with the problem's title and detail. */
export function ErrorNote({ error }: { error: unknown }) {
  if (!error) return null;
  const text =
    error instanceof ApiError
      ? `${error.problem.title ?? 'Error'} (${error.status})${error.problem.detail ? `: ${error.problem.detail}` : ''}`
      : String((error as Error).message ?? error);
  return (
    <p class="error-note" role="alert">
      {text}
    </p>
  );
}

/** A modal confirmation (the native <dialog>: focus trapping and Escape come with it). */
export function Confirm(props: {
  open: boolean;
  title: string;
  children: ComponentChildren;
  confirmLabel: string;
  onConfirm: () => void;
  onCancel: () => void;
}) {
  const ref = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const dialog = ref.current;
    if (!dialog) return;
    if (props.open && !dialog.open) dialog.showModal();
    if (!props.open && dialog.open) dialog.close();
  }, [props.open]);
  return (
    <dialog ref={ref} onCancel={props.onCancel} aria-labelledby="confirm-title">
      <h2 id="confirm-title">{props.title}</h2>
      <div>{props.children}</div>
      <div class="actions">
        <button type="button" onClick={props.onCancel}>
          Cancel
        </button>
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
      </div>
    </dialog>
  );
}

/** A labelled key/value list. */
export function Facts({ rows }: { rows: [string, ComponentChildren][] }) {
  return (
    <dl class="facts">
      {rows.map(([label, value]) => (
        <div key={label}>
          <dt>{label}</dt>
          <dd>{value ?? <span class="muted">–</span>}</dd>
        </div>
      ))}
    </dl>
  );
}

/** Text in a preformatted block (always text: job data is never HTML). */
export function Pre({ text, label }: { text: string | null | undefined; label: string }) {
  if (text === null || text === undefined || text === '') return <span class="muted">–</span>;
  return (
    <section aria-label={label}>
      {/* biome-ignore lint/a11y/noNoninteractiveTabindex: long blocks scroll, and a scroll area must be reachable by keyboard */}
      <pre tabIndex={0}>{text}</pre>
    </section>
  );
}
