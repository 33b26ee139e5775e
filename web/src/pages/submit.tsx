/** Submit: a command, or a typed job whose params form comes from the type's JSON Schema. */
import { useEffect, useMemo, useState } from 'preact/hooks';
import { ApiError, api, type FieldError } from '../api';
import { ErrorNote, Pre } from '../components/ui';
import { listOf, useApi } from '../data';
import { prettyJson } from '../format';
import { href, navigate } from '../router';
import { canAct, useSession } from '../session';
import type { Job, JobType } from '../types';
import { paramsFromForm, SchemaFields, schemaFields } from './schema-form';

/** `/params/count`, `body.params.count`, `params/count` → `params.count`. */
export function fieldKey(field: string): string {
  return field
    .replace(/^\/+/, '')
    .replace(/\//g, '.')
    .replace(/^body\./, '')
    .replace(/^\.+/, '');
}

const COMMON: [string, string, string][] = [
  // [field, label, input type]
  ['name', 'Name', 'text'],
  ['queue', 'Queue', 'text'],
  ['priority', 'Priority', 'number'],
  ['delay_sec', 'Delay (seconds)', 'number'],
  ['depends_on', 'After jobs (ids, comma separated)', 'text'],
  ['timeout_sec', 'Time limit (seconds)', 'number'],
  ['max_attempts', 'Max attempts', 'number'],
  ['key', 'Idempotency key', 'text'],
];
const NUMERIC = new Set(['priority', 'delay_sec', 'timeout_sec', 'max_attempts']);

export function SubmitPage({ params }: { params: URLSearchParams }) {
  const me = useSession();
  const types = useApi<unknown>('job-types', { pollMs: 0 });
  const typed = listOf<JobType>(types.data, 'job_types').filter((type) => type.id !== 'command');
  const [typeId, setTypeId] = useState(params.get('type') ?? 'command');
  const [cmd, setCmd] = useState('');
  const [common, setCommon] = useState<Record<string, string>>({});
  const [values, setValues] = useState<Record<string, string | boolean>>({});
  const [errors, setErrors] = useState<FieldError[]>([]);
  const [problem, setProblem] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setValues({}), [typeId]);

  const type = typed.find((candidate) => candidate.id === typeId);
  const fields = useMemo(() => (type ? schemaFields(type.params_schema) : null), [type]);
  const [rawParams, setRawParams] = useState('{}');

  if (!canAct(me)) {
    return (
      <section>
        <h1>Submit a job</h1>
        <p>A viewer token cannot submit jobs.</p>
      </section>
    );
  }

  const errorFor = (field: string) =>
    errors
      .filter((error) => fieldKey(error.field) === field)
      .map((error) => error.message)
      .join('; ') || undefined;
  const shownFields = new Set([
    'cmd',
    'type',
    'params',
    ...COMMON.map(([field]) => field),
    ...(fields ?? []).map(([name]) => `params.${name}`),
  ]);
  const otherErrors = errors.filter((error) => !shownFields.has(fieldKey(error.field)));

  const submit = async (event: Event) => {
    event.preventDefault();
    setErrors([]);
    setProblem(null);
    const body: Record<string, unknown> = {};
    const local: FieldError[] = [];
    if (typeId === 'command') body.cmd = cmd;
    else {
      body.type = typeId;
      if (fields) {
        const read = paramsFromForm(fields, values);
        body.params = read.params;
        local.push(...read.errors);
      } else {
        try {
          body.params = JSON.parse(rawParams);
        } catch {
          local.push({ field: 'params', message: 'is not valid JSON' });
        }
      }
    }
    for (const [field] of COMMON) {
      const value = common[field]?.trim();
      if (!value) continue;
      if (field === 'depends_on')
        body.depends_on = value
          .split(/[\s,]+/)
          .filter(Boolean)
          .map(Number);
      else body[field] = NUMERIC.has(field) && !Number.isNaN(Number(value)) ? Number(value) : value;
    }
    if (local.length > 0) {
      setErrors(local);
      return;
    }
    setBusy(true);
    try {
      const job = await api<Job>('jobs', { method: 'POST', body });
      navigate(href(`/jobs/${job.id}`));
    } catch (caught) {
      if (caught instanceof ApiError && caught.problem.errors?.length) setErrors(caught.problem.errors);
      setProblem(caught);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section class="stack">
      <h1>Submit a job</h1>
      <form class="submit" noValidate onSubmit={submit}>
        <div class="field">
          <label for="submit-type">Job type</label>
          <select id="submit-type" value={typeId} onChange={(event) => setTypeId(event.currentTarget.value)}>
            <option value="command">command (a shell command)</option>
            {typed.map((candidate) => (
              <option key={candidate.id} value={candidate.id}>
                {candidate.id}
              </option>
            ))}
          </select>
        </div>
        {typeId === 'command' ? (
          <FieldBox id="submit-cmd" label="Command" error={errorFor('cmd')}>
            <textarea
              id="submit-cmd"
              name="cmd"
              rows={3}
              spellcheck={false}
              placeholder="python train.py --epochs 3"
              aria-invalid={errorFor('cmd') ? true : undefined}
              value={cmd}
              onInput={(event) => setCmd(event.currentTarget.value)}
            />
          </FieldBox>
        ) : fields ? (
          <SchemaFields
            fields={fields}
            values={values}
            setValue={(name, value) => setValues((current) => ({ ...current, [name]: value }))}
            errorFor={errorFor}
          />
        ) : (
          <FieldBox id="submit-params" label="Params (JSON)" error={errorFor('params')}>
            <textarea
              id="submit-params"
              rows={5}
              value={rawParams}
              onInput={(event) => setRawParams(event.currentTarget.value)}
            />
          </FieldBox>
        )}
        {type && fields === null && <Pre label="params schema" text={prettyJson(type.params_schema)} />}
        <details>
          <summary>Options</summary>
          <div class="row">
            {COMMON.map(([field, label, inputType]) => (
              <FieldBox key={field} id={`submit-${field}`} label={label} error={errorFor(field)}>
                <input
                  id={`submit-${field}`}
                  name={field}
                  type={inputType}
                  aria-invalid={errorFor(field) ? true : undefined}
                  value={common[field] ?? ''}
                  onInput={(event) => setCommon((current) => ({ ...current, [field]: event.currentTarget.value }))}
                />
              </FieldBox>
            ))}
          </div>
        </details>
        {otherErrors.length > 0 && (
          <ul class="field-error" role="alert">
            {otherErrors.map((error) => (
              <li key={error.field + error.message}>
                <code>{fieldKey(error.field) || '(body)'}</code> {error.message}
              </li>
            ))}
          </ul>
        )}
        <ErrorNote error={problem} />
        <button type="submit" class="primary" disabled={busy}>
          {busy ? 'Submitting…' : 'Submit'}
        </button>
      </form>
    </section>
  );
}

function FieldBox(props: { id: string; label: string; error?: string; children: preact.ComponentChildren }) {
  return (
    <div class={`field${props.error ? ' invalid' : ''}`}>
      <label for={props.id}>{props.label}</label>
      {props.children}
      {props.error && (
        <small id={`${props.id}-error`} class="field-error">
          {props.error}
        </small>
      )}
    </div>
  );
}
