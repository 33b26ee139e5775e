/**
 * Params fields generated from a job type's JSON Schema: strings, enums, numbers, integers and
 * booleans get their own controls; anything nested is edited as JSON. Values are read back into the
 * params object on submit; the API does the validation and its errors are shown beside each field.
 */
import type { FieldError } from '../api';

export interface SchemaProperty {
  type?: string | string[];
  enum?: unknown[];
  description?: string;
  title?: string;
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

interface ObjectSchema {
  type?: string;
  properties?: Record<string, SchemaProperty>;
  required?: string[];
}

function kind(property: SchemaProperty): 'enum' | 'string' | 'number' | 'integer' | 'boolean' | 'json' {
  if (Array.isArray(property.enum)) return 'enum';
  const type = Array.isArray(property.type) ? property.type.find((t) => t !== 'null') : property.type;
  if (type === 'string' || type === 'number' || type === 'integer' || type === 'boolean') return type;
  return 'json';
}

/** The schema's top-level fields, or null when the schema is not a plain object with properties. */
export function schemaFields(schema: unknown): [string, SchemaProperty, boolean][] | null {
  const object = schema as ObjectSchema | null;
  if (!object || typeof object !== 'object' || !object.properties) return null;
  const required = new Set(object.required ?? []);
  return Object.entries(object.properties).map(([name, property]) => [name, property, required.has(name)]);
}

/** Raw form values → params: numbers parsed, empty fields left out, JSON fields parsed. */
export function paramsFromForm(
  fields: [string, SchemaProperty, boolean][],
  values: Record<string, string | boolean>,
): { params: Record<string, unknown>; errors: FieldError[] } {
  const params: Record<string, unknown> = {};
  const errors: FieldError[] = [];
  for (const [name, property] of fields) {
    const raw = values[name];
    if (raw === undefined || raw === '') continue;
    const k = kind(property);
    if (k === 'boolean') params[name] = raw === true;
    else if (k === 'number' || k === 'integer') params[name] = Number.isNaN(Number(raw)) ? raw : Number(raw);
    else if (k === 'json') {
      try {
        params[name] = JSON.parse(String(raw));
      } catch {
        errors.push({ field: `params.${name}`, message: 'is not valid JSON' });
      }
    } else if (k === 'enum') {
      const match = property.enum?.find((option) => String(option) === raw);
      params[name] = match ?? raw;
    } else params[name] = raw;
  }
  return { params, errors };
}

export function SchemaFields(props: {
  fields: [string, SchemaProperty, boolean][];
  values: Record<string, string | boolean>;
  setValue: (name: string, value: string | boolean) => void;
  errorFor: (field: string) => string | undefined;
}) {
  return (
    <fieldset class="params">
      <legend>Params</legend>
      {props.fields.length === 0 && <p class="muted">This type takes no params.</p>}
      {props.fields.map(([name, property, required]) => {
        const id = `param-${name}`;
        const error = props.errorFor(`params.${name}`);
        const k = kind(property);
        const value = props.values[name];
        const common = {
          id,
          name: `params.${name}`,
          'aria-invalid': error ? true : undefined,
          'aria-describedby': error ? `${id}-error` : property.description ? `${id}-help` : undefined,
        };
        return (
          <div class={`field${error ? ' invalid' : ''}`} key={name}>
            <label for={id}>
              {property.title ?? name}
              {required && <span aria-hidden="true"> *</span>}
              {required && <span class="sr-only"> (required)</span>}
              <span class="muted"> {k === 'json' ? 'JSON' : k}</span>
            </label>
            {k === 'boolean' ? (
              <input
                {...common}
                type="checkbox"
                checked={value === true}
                onChange={(event) => props.setValue(name, event.currentTarget.checked)}
              />
            ) : k === 'enum' ? (
              <select
                {...common}
                value={String(value ?? '')}
                onChange={(event) => props.setValue(name, event.currentTarget.value)}
              >
                <option value="">–</option>
                {(property.enum ?? []).map((option) => (
                  <option key={String(option)} value={String(option)}>
                    {String(option)}
                  </option>
                ))}
              </select>
            ) : k === 'json' ? (
              <textarea
                {...common}
                rows={3}
                value={String(value ?? '')}
                onInput={(event) => props.setValue(name, event.currentTarget.value)}
              />
            ) : (
              <input
                {...common}
                type={k === 'string' ? 'text' : 'number'}
                step={k === 'integer' ? 1 : 'any'}
                value={String(value ?? '')}
                onInput={(event) => props.setValue(name, event.currentTarget.value)}
              />
            )}
            {property.description && (
              <small id={`${id}-help`} class="muted">
                {property.description}
              </small>
            )}
            {error && (
              <small id={`${id}-error`} class="field-error">
                {error}
              </small>
            )}
          </div>
        );
      })}
    </fieldset>
  );
}
