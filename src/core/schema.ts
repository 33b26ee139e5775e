/** JSON Schema validation of job params, before anything is stored. */
import type { Ajv, ValidateFunction } from 'ajv';
import { InvalidInputError } from './errors.js';
import { lazy } from './lazy.js';

const ajvModule = lazy<typeof import('ajv')>('ajv');
let ajvInstance: Ajv | undefined;
const ajv = (): Ajv => {
  ajvInstance ??= new (ajvModule().Ajv)({ allErrors: false, strict: false });
  return ajvInstance;
};
const compiled = new WeakMap<object, ValidateFunction>();

/** Compiles a schema once (refusing a broken one) and returns its validator. */
export function compileSchema(schema: object, field = 'params_schema'): ValidateFunction {
  let validate = compiled.get(schema);
  if (!validate) {
    try {
      validate = ajv().compile(schema);
    } catch (error) {
      throw new InvalidInputError(field, `is not a valid JSON Schema: ${(error as Error).message}`);
    }
    compiled.set(schema, validate);
  }
  return validate;
}

/** Throws an InvalidInputError naming the path of the first bad param, e.g. `params/items/0/size`. */
export function validateParams(schema: object, params: unknown, typeName: string): void {
  const validate = compileSchema(schema);
  if (validate(params)) return;
  const error = validate.errors?.[0];
  if (!error) throw new InvalidInputError('params', `do not match the schema of ${typeName}`);
  const missing =
    error.keyword === 'required' ? `/${(error.params as { missingProperty: string }).missingProperty}` : '';
  const path = `params${error.instancePath}${missing}`;
  const message = error.keyword === 'required' ? 'is required' : (error.message ?? 'is not valid');
  throw new InvalidInputError(path, `${message} (job type ${typeName})`);
}
