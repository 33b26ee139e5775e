/**
 * The job types and groups a program knows, and how a submit of a typed job is completed from its
 * type's defaults and checked against its params schema.
 */
import { validateCron } from './cron.js';
import { InvalidInputError } from './errors.js';
import type { JobGroupDefinition, JobTypeDefinition, StoredJobType } from './job-types.js';
import { compileSchema, validateParams } from './schema.js';
import { COMMAND_TYPE, type JobSpec } from './words.js';

const TYPE_NAME = /^[A-Za-z][A-Za-z0-9_.:-]{0,127}$/;

/** What a job type supplies for the fields a submit leaves out. */
export type TypeDefaults = Pick<
  JobSpec,
  'queue' | 'group' | 'priority' | 'timeLimitSeconds' | 'maxAttempts' | 'retry' | 'cron'
>;

export const NO_DEFAULTS: TypeDefaults = Object.freeze({});

export class JobTypeRegistry {
  readonly types = new Map<string, JobTypeDefinition>();
  readonly groups = new Map<string, JobGroupDefinition>();
  /** Defaults per type definition, computed once (the submit path is hot). */
  private readonly defaults = new WeakMap<object, TypeDefaults>();

  define(definition: JobTypeDefinition): void {
    if (!TYPE_NAME.test(definition.name ?? '')) {
      throw new InvalidInputError('name', `"${definition.name}" is not a job type name; use letters, digits and _.:-`);
    }
    if (definition.name === COMMAND_TYPE) throw new InvalidInputError('name', '"command" is the built-in type');
    if (definition.handler !== undefined && typeof definition.handler !== 'function') {
      throw new InvalidInputError(`${definition.name}.handler`, 'must be a function');
    }
    if (definition.paramsSchema) compileSchema(definition.paramsSchema, `${definition.name}.paramsSchema`);
    if (definition.cron) validateCron(definition.cron, `${definition.name}.cron`);
    if (definition.group && !this.groups.has(definition.group)) {
      throw new InvalidInputError(
        `${definition.name}.group`,
        `group "${definition.group}" is not defined; define it first`,
      );
    }
    // A type in a group runs in the group's queue unless it names its own.
    const queue = definition.queue ?? (definition.group ? this.groups.get(definition.group)?.queue : undefined);
    this.types.set(definition.name, { ...definition, queue });
  }

  defineGroup(group: JobGroupDefinition): void {
    if (!TYPE_NAME.test(group.name ?? ''))
      throw new InvalidInputError('group.name', `"${group.name}" is not a valid name`);
    if (!group.queue) throw new InvalidInputError(`${group.name}.queue`, 'a group maps to one queue; give its name');
    this.groups.set(group.name, group);
  }

  /** Types whose handler this process can run. */
  handlerTypes(): string[] {
    return [...this.types.values()].filter((type) => type.handler).map((type) => type.name);
  }

  /**
   * Checks a spec's type and params, and returns the type's defaults for the fields the spec leaves
   * out (none for commands). `stored` are the types other processes defined, for a type this
   * process does not know.
   */
  resolve(spec: JobSpec, stored: ReadonlyMap<string, StoredJobType>): TypeDefaults {
    const typeName = spec.type ?? COMMAND_TYPE;
    if (typeName === COMMAND_TYPE) return NO_DEFAULTS;
    const type = this.types.get(typeName) ?? stored.get(typeName);
    if (!type) {
      throw new InvalidInputError(
        'type',
        `unknown job type "${typeName}"; define it (docket.define or a worker config) first`,
      );
    }
    if (type.paramsSchema) validateParams(type.paramsSchema, spec.params ?? null, typeName);
    let defaults = this.defaults.get(type);
    if (!defaults) {
      defaults = {
        queue: type.queue,
        group: type.group,
        priority: type.priority,
        timeLimitSeconds: type.timeoutSeconds,
        maxAttempts: type.maxAttempts,
        retry: type.retry,
        cron: type.cron,
      };
      this.defaults.set(type, defaults);
    }
    return defaults;
  }
}
