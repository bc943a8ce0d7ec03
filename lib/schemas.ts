/**
 * Joi schemas and option checking shared by every factory of the package
 * (`azureReceiver`, `kargoReceivers`, `kubernetesAdapter`, …). A leaf: it
 * imports no factory, so that each may use it without an import circle.
 * @module
 */
import { closest, distance } from 'fastest-levenshtein';
import Joi from 'joi';
import { optionsError } from './errors.js';

/** A pino-compatible logger, as every factory of the package accepts it. */
export const loggerSchema = Joi.object({
  debug: Joi.function().required(),
  info: Joi.function().required(),
  warn: Joi.function().required(),
  error: Joi.function().required(),
})
  .unknown(true)
  .messages({
    'any.required': '{{#label}} is required: a logger needs debug, info, warn and error methods',
  });

/** A Kubernetes namespace name: a DNS-1123 label. */
export const namespaceSchema = Joi.string()
  .max(63)
  .pattern(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/)
  .messages({
    'string.pattern.base': '{{#label}} must be a Kubernetes namespace name (RFC 1123 label)',
  });

/** One namespace or a non-empty list of distinct ones (`namespaces` options). */
export const namespacesSchema = Joi.alternatives().try(
  namespaceSchema,
  Joi.array().items(namespaceSchema).min(1).unique(),
);

/** The valid name nearest a misspelt one: another case, or at most half changed (`deadlineMS` → `deadlineMs`). */
export function nearestName(name: string, valid: readonly string[]): string | undefined {
  if (valid.length === 0) return undefined;
  const lower = name.toLowerCase();
  const byLower = new Map(valid.map((v) => [v.toLowerCase(), v]));
  const best = closest(lower, [...byLower.keys()]);
  if (distance(lower, best) > Math.max(2, Math.floor(name.length / 2))) return undefined;
  return byLower.get(best);
}

/**
 * The message of a joi error, for a factory's options. An unknown name gets
 * the nearest valid one (`options.deadlineMS is not an option: did you mean
 * 'deadlineMs'?`), or the list of valid ones. `topLevelNames` are the names
 * offered at the top level (default: every key of the schema).
 */
export function optionsMessage(
  joiSchema: Joi.Schema,
  error: Joi.ValidationError,
  topLevelNames?: readonly string[],
): string {
  const detail = error.details[0];
  const message = detail?.message ?? error.message;
  if (detail?.type !== 'object.unknown' || typeof detail.context?.key !== 'string') {
    return message.startsWith('options') ? message : `options.${message}`;
  }
  const key = detail.context.key;
  const parent = detail.path.slice(0, -1);
  const valid =
    parent.length === 0 && topLevelNames
      ? topLevelNames
      : Object.keys(
          ((parent.length === 0 ? joiSchema : joiSchema.extract(parent as string[])).describe()
            .keys as Record<string, unknown> | undefined) ?? {},
        );
  const label = ['options', ...detail.path].join('.');
  const nearest = nearestName(key, valid);
  return nearest === undefined
    ? `${label} is not an option (valid: ${valid.join(', ')})`
    : `${label} is not an option: did you mean '${nearest}'?`;
}

/** Validates `value` and returns it defaulted, or throws a prefixed TypeError naming the bad option. */
export function validate<T>(
  joiSchema: Joi.Schema,
  value: unknown,
  topLevelNames?: readonly string[],
): T {
  const { error, value: result } = joiSchema.validate(value, {
    abortEarly: true,
    convert: false,
    errors: { label: 'path', wrap: { label: false } },
  });
  if (error) throw optionsError(optionsMessage(joiSchema, error, topLevelNames));
  return result as T;
}
