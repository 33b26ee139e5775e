/** Job types and groups: their defaults and params schemas, as the API describes them. */
import { ErrorNote, Pre } from '../components/ui';
import { listOf, useApi } from '../data';
import { prettyJson } from '../format';
import { href } from '../router';
import type { JobGroup, JobType } from '../types';

/** Fields shown in the defaults list rather than on their own. */
const SHOWN_APART = new Set(['id', 'name', 'description', 'params_schema']);

export function TypesPage() {
  const types = useApi<unknown>('job-types', { pollMs: 0 });
  const groups = useApi<unknown>('job-groups', { pollMs: 0 });
  return (
    <section class="stack">
      <h1>Job types &amp; groups</h1>
      <section aria-labelledby="types-heading">
        <h2 id="types-heading">Job types</h2>
        <ErrorNote error={types.error} />
        {listOf<JobType>(types.data, 'job_types').map((type) => (
          <details key={type.id} class="card">
            <summary>
              <strong>{type.id}</strong> {type.description ? <span class="muted">— {type.description}</span> : null}
            </summary>
            <dl class="facts">
              {typeFacts(type).map(([key, value]) => (
                <div key={key}>
                  <dt>{key}</dt>
                  <dd>{value}</dd>
                </div>
              ))}
            </dl>
            <h3>Params schema</h3>
            <Pre label={`params schema of ${type.id}`} text={prettyJson(type.params_schema)} />
            <p>
              <a href={href('/submit', { type: type.id })}>Submit a {type.id} job</a> ·{' '}
              <a href={href('/jobs', { type: type.id })}>its jobs</a>
            </p>
          </details>
        ))}
      </section>
      <section aria-labelledby="groups-heading">
        <h2 id="groups-heading">Groups</h2>
        <ErrorNote error={groups.error} />
        {groups.data !== null && listOf<JobGroup>(groups.data, 'job_groups').length === 0 && (
          <p class="muted">No groups defined.</p>
        )}
        <ul class="plain">
          {listOf<JobGroup>(groups.data, 'job_groups').map((group) => (
            <li key={group.id} class="card">
              <strong>{group.id}</strong> {group.description ? <span class="muted">— {group.description}</span> : null}
              <dl class="facts">
                {Object.entries(group)
                  .filter(([key]) => !SHOWN_APART.has(key))
                  .map(([key, value]) => (
                    <div key={key}>
                      <dt>{key}</dt>
                      <dd>{Array.isArray(value) ? value.join(', ') || '–' : String(value ?? '–')}</dd>
                    </div>
                  ))}
              </dl>
              <a href={href('/jobs', { group: group.id })}>its jobs</a>
            </li>
          ))}
        </ul>
      </section>
    </section>
  );
}

/** A type's settings as label/value pairs: its defaults spelled out, unset ones left out. */
function typeFacts(type: JobType): [string, string][] {
  const facts: [string, string][] = [];
  for (const [key, value] of Object.entries(type)) {
    if (SHOWN_APART.has(key) || value === null || value === undefined) continue;
    if (key === 'defaults' && typeof value === 'object') {
      for (const [name, setting] of Object.entries(value as Record<string, unknown>)) {
        if (setting !== null && setting !== undefined)
          facts.push([`default ${name.replace(/_/g, ' ')}`, String(setting)]);
      }
    } else facts.push([key, typeof value === 'object' ? JSON.stringify(value) : String(value)]);
  }
  return facts;
}
