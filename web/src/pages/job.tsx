/** A job's page: its record, why it is where it is, its dependencies, attempts, live logs and actions. */
import { useState } from 'preact/hooks';
import { api } from '../api';
import { Confirm, ErrorNote, Facts, Pre, Progress, StateBadge, Time } from '../components/ui';
import { useApi } from '../data';
import { bytes, duration, prettyJson } from '../format';
import type { JobEvent } from '../live';
import { href, navigate } from '../router';
import { actionsFor, canAct, type JobAction, useSession } from '../session';
import type { Attempt, JobDetail } from '../types';
import { DependencyGraph } from './graph';
import { LogView } from './logs';

const ACTIVE = ['pending', 'running', 'suspended'];

export function JobPage({ id }: { id: number }) {
  const job = useApi<JobDetail>(`jobs/${id}`, {
    eventTypes: ['job.state', 'job.progress'],
    onEvent: (_type, data: JobEvent) => (data.job_id ?? data.id) === id,
  });
  if (job.error && !job.data) {
    return (
      <section>
        <h1>Job #{id}</h1>
        <ErrorNote error={job.error} />
        <p>
          <a href="#/jobs">Back to the jobs</a>
        </p>
      </section>
    );
  }
  if (!job.data) return <p>Loading job #{id}…</p>;
  const data = job.data;
  return (
    <article class="stack job">
      <header class="job-head">
        <h1>
          <span class="muted">#{data.id}</span> <span class="name">{data.name}</span>
        </h1>
        <StateBadge job={data} />
      </header>
      {data.state_reason && (
        <p class="reason" data-testid="state-reason">
          {data.state_reason}
        </p>
      )}
      {data.progress !== null && <Progress value={data.progress} message={data.progress_message} />}
      <JobActions job={data} onChanged={job.reload} />
      <section aria-labelledby="record-heading">
        <h2 id="record-heading">Record</h2>
        <Facts rows={recordRows(data)} />
      </section>
      <section aria-labelledby="work-heading">
        <h2 id="work-heading">{data.command !== null || data.argv !== null ? 'Command' : 'Params'}</h2>
        {data.command !== null ? (
          <Pre label="command" text={data.command} />
        ) : data.argv !== null ? (
          <Pre label="argument vector" text={prettyJson(data.argv)} />
        ) : (
          <Pre label="params" text={prettyJson(data.params)} />
        )}
      </section>
      {data.result !== null && data.result !== undefined && (
        <section aria-labelledby="result-heading">
          <h2 id="result-heading">Result</h2>
          <Pre label="result" text={prettyJson(data.result)} />
        </section>
      )}
      {(data.error || data.error_stack) && (
        <section aria-labelledby="error-heading">
          <h2 id="error-heading">Error</h2>
          <Pre label="error" text={data.error_stack || data.error} />
        </section>
      )}
      <section aria-labelledby="deps-heading">
        <h2 id="deps-heading">Dependencies</h2>
        <DependencyGraph job={data} />
      </section>
      <section aria-labelledby="attempts-heading">
        <h2 id="attempts-heading">Attempts</h2>
        <AttemptTimeline attempts={data.executions ?? []} />
      </section>
      <section aria-labelledby="logs-heading">
        <h2 id="logs-heading">Logs</h2>
        <LogView jobId={data.id} live={ACTIVE.includes(data.status)} onEnded={job.reload} />
      </section>
    </article>
  );
}

function recordRows(job: JobDetail): [string, preact.ComponentChildren][] {
  const r = job.resources ?? {};
  const rows: [string, preact.ComponentChildren][] = [
    ['Type', job.type],
    ['Queue', <a href={href('/jobs', { queue: job.queue })}>{job.queue}</a>],
    ['Group', job.group],
    ['Priority', String(job.priority)],
    ['Scheduler', job.scheduler],
    ['Key', job.key],
    ['Tenant / user', `${job.tenant} / ${job.user ?? '–'}`],
    ['Created', <Time iso={job.created_at} />],
    ['Run at', <Time iso={job.run_at} />],
    ['Started', <Time iso={job.started_at} />],
    ['Ended', <Time iso={job.ended_at} />],
    ['Attempts', `${job.attempts} of ${job.max_attempts}`],
    [
      'Exit code / signal',
      job.exit_code !== null || job.signal ? `${job.exit_code ?? '–'} / ${job.signal ?? '–'}` : null,
    ],
    ['Time limit', job.time_limit_s ? duration(job.time_limit_s * 1000) : null],
    [
      'Resources',
      [
        r.cpu_count ? `${r.cpu_count} CPU` : '',
        r.memory_bytes ? bytes(r.memory_bytes) : '',
        r.gpu_count ? `${r.gpu_count} GPU` : '',
        r.partition ? `partition ${r.partition}` : '',
        r.account ? `account ${r.account}` : '',
      ]
        .filter(Boolean)
        .join(', ') || null,
    ],
    ['Working directory', job.cwd ? <code>{job.cwd}</code> : null],
    ['Host / PID', job.host ? `${job.host} / ${job.pid ?? '–'}` : null],
    ['Worker', job.worker_id ? <code>{job.worker_id}</code> : null],
  ];
  if (job.cron) rows.push(['Cron', <code>{job.cron}</code>]);
  if (job.scheduler === 'slurm') {
    rows.push(['SLURM job id', job.scheduler_job_id]);
    rows.push(['Node', job.node ?? job.host]);
  }
  return rows;
}

const LABELS: Record<JobAction, string> = {
  cancel: 'Cancel',
  suspend: 'Suspend',
  resume: 'Resume',
  retry: 'Retry',
  delete: 'Delete',
};

function JobActions({ job, onChanged }: { job: JobDetail; onChanged: () => void }) {
  const me = useSession();
  const [confirming, setConfirming] = useState<JobAction | null>(null);
  const [error, setError] = useState<unknown>(null);
  if (!canAct(me)) return null;
  const actions = actionsFor(job.status);
  if (actions.length === 0) return null;
  const act = async (action: JobAction) => {
    setConfirming(null);
    setError(null);
    try {
      if (action === 'delete') {
        await api(`jobs/${job.id}`, { method: 'DELETE' });
        navigate(href('/jobs'));
        return;
      }
      await api(`jobs/${job.id}/${action}`, { method: 'POST' });
      onChanged();
    } catch (caught) {
      setError(caught);
    }
  };
  return (
    <fieldset class="actions">
      <legend class="sr-only">Actions</legend>
      {actions.map((action) => (
        <button
          key={action}
          type="button"
          class={action === 'delete' || action === 'cancel' ? 'danger' : undefined}
          onClick={() => (action === 'delete' || action === 'cancel' ? setConfirming(action) : void act(action))}
        >
          {LABELS[action]}
        </button>
      ))}
      <Confirm
        open={confirming !== null}
        title={`${confirming ? LABELS[confirming] : ''} job #${job.id}?`}
        confirmLabel={`Yes, ${confirming ?? ''}`}
        onConfirm={() => confirming && void act(confirming)}
        onCancel={() => setConfirming(null)}
      >
        <p>{confirming === 'delete' ? 'Its record and logs are removed for good.' : 'Its processes are stopped.'}</p>
      </Confirm>
      <ErrorNote error={error} />
    </fieldset>
  );
}

function AttemptTimeline({ attempts }: { attempts: Attempt[] }) {
  if (attempts.length === 0) return <p class="muted">Not started yet.</p>;
  const start = Math.min(...attempts.map((attempt) => Date.parse(attempt.started_at)));
  const end = Math.max(...attempts.map((attempt) => (attempt.ended_at ? Date.parse(attempt.ended_at) : Date.now())));
  const span = Math.max(1, end - start);
  return (
    <ol class="timeline">
      {attempts.map((attempt) => {
        const from = Date.parse(attempt.started_at);
        const to = attempt.ended_at ? Date.parse(attempt.ended_at) : Date.now();
        return (
          <li key={attempt.attempt}>
            <div class="bar-track" aria-hidden="true">
              <span
                class={`bar state-${attempt.status}`}
                style={{
                  left: `${((from - start) / span) * 100}%`,
                  width: `${Math.max(1, ((to - from) / span) * 100)}%`,
                }}
              />
            </div>
            <div class="attempt-facts">
              <strong>Attempt {attempt.attempt}</strong> <StateBadge state={attempt.status} />{' '}
              <Time iso={attempt.started_at} /> → {attempt.ended_at ? <Time iso={attempt.ended_at} /> : 'running'} (
              {duration(to - from)}){attempt.exit_code !== null && ` · exit ${attempt.exit_code}`}
              {attempt.signal && ` · signal ${attempt.signal}`}
              {attempt.host && ` · ${attempt.host}`}
              {attempt.pid !== null && ` pid ${attempt.pid}`}
              {attempt.worker_id && (
                <>
                  {' · worker '}
                  <code>{attempt.worker_id}</code>
                </>
              )}
              {attempt.error && <Pre label={`attempt ${attempt.attempt} error`} text={attempt.error} />}
            </div>
          </li>
        );
      })}
    </ol>
  );
}
