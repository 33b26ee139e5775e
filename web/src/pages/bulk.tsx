/** Bulk actions on the selected jobs, or on every job matching the filter (counted, confirmed, capped). */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Confirm, ErrorNote } from '../components/ui';
import type { Filters } from '../filters';
import type { JobAction } from '../session';
import type { ActionResult } from '../types';

/** The most jobs one "all matching" action may touch (the server's cap); it works through them in batches. */
export const BULK_MAX = 10_000;
const ACTIONS: [JobAction, string][] = [
  ['cancel', 'Cancel'],
  ['retry', 'Retry'],
  ['suspend', 'Suspend'],
  ['resume', 'Resume'],
  ['delete', 'Delete'],
];

interface Pending {
  action: JobAction;
  scope: 'selected' | 'matching';
}

export function BulkActions(props: { selected: number[]; filters: Filters; total: number; onDone: () => void }) {
  const [pending, setPending] = useState<Pending | null>(null);
  const [scope, setScope] = useState<'selected' | 'matching'>('selected');
  const [outcome, setOutcome] = useState<ActionResult | null>(null);
  const [error, setError] = useState<unknown>(null);
  const count = scope === 'selected' ? props.selected.length : props.total;
  // The server refuses an "all matching" action over more than BULK_MAX jobs rather than do part of it.
  const tooMany = scope === 'matching' && props.total > BULK_MAX;

  const run = async ({ action, scope: target }: Pending) => {
    setPending(null);
    setError(null);
    setOutcome(null);
    const body =
      target === 'selected' ? { action, ids: props.selected } : { action, filter: props.filters, max: BULK_MAX };
    try {
      setOutcome(await api<ActionResult>('jobs/actions', { method: 'POST', body }));
      props.onDone();
    } catch (caught) {
      setError(caught);
    }
  };

  return (
    <fieldset class="bulk">
      <legend class="sr-only">Bulk actions</legend>
      <fieldset class="scope">
        <legend class="sr-only">Act on</legend>
        <label class="check">
          <input type="radio" name="scope" checked={scope === 'selected'} onChange={() => setScope('selected')} />
          {props.selected.length} selected
        </label>
        <label class="check">
          <input type="radio" name="scope" checked={scope === 'matching'} onChange={() => setScope('matching')} />
          all {props.total} matching
        </label>
      </fieldset>
      {ACTIONS.map(([action, label]) => (
        <button
          key={action}
          type="button"
          class={action === 'delete' || action === 'cancel' ? 'danger' : undefined}
          disabled={count === 0 || tooMany}
          onClick={() => setPending({ action, scope })}
        >
          {label}
        </button>
      ))}
      <Confirm
        open={pending !== null}
        title={pending ? `${pending.action} ${count} job${count === 1 ? '' : 's'}?` : ''}
        confirmLabel={pending ? `Yes, ${pending.action} ${count}` : ''}
        onConfirm={() => pending && void run(pending)}
        onCancel={() => setPending(null)}
      >
        {pending?.scope === 'matching' ? (
          <p>
            This acts on every job matching the current filter: {props.total} now. Jobs whose state does not allow it
            are left as they are.
          </p>
        ) : (
          <p>Jobs whose state does not allow it are left as they are.</p>
        )}
      </Confirm>
      {tooMany && <span class="muted">More than {BULK_MAX} jobs match: narrow the filter to act on all of them.</span>}
      <ErrorNote error={error} />
      {outcome && (
        <p class="result" role="status">
          {outcome.changed} of {outcome.matched} changed
          {outcome.failed.length > 0 &&
            ` · not changed: ${outcome.failed
              .slice(0, 5)
              .map((failure) => `#${failure.id} (${failure.detail})`)
              .join(', ')}${outcome.failed.length > 5 ? ` and ${outcome.failed.length - 5} more` : ''}`}
        </p>
      )}
    </fieldset>
  );
}
