/**
 * Helpers shared by the indexes: reading an object's identity from a manifest,
 * namespace scoping and deterministic ordering.
 * @module
 */
import type { Logger } from '../types.js';
import { asRecord } from './subscriptions.js';

/** Namespace and name of a Kargo object. */
export interface ObjectKey {
  namespace: string;
  name: string;
}

/** The map key of an object. `/` cannot occur in a Kubernetes namespace or name. */
export function keyOf(namespace: string, name: string): string {
  return `${namespace}/${name}`;
}

/** A logger that drops everything, when none is given. */
export const silentLogger: Logger = {
  debug: () => undefined,
  info: () => undefined,
  warn: () => undefined,
  error: () => undefined,
};

/**
 * Reads `metadata.namespace` and `metadata.name` of a manifest of the expected
 * kind. Logs a warning and returns undefined when the manifest is not one.
 */
export function readIdentity(
  manifest: unknown,
  kind: string,
  logger: Logger,
): ObjectKey | undefined {
  const object = asRecord(manifest);
  const metadata = asRecord(object?.['metadata']);
  const name = metadata?.['name'];
  const namespace = metadata?.['namespace'];
  const actualKind = object?.['kind'];
  if (actualKind !== undefined && actualKind !== kind) {
    logger.warn({ kind: actualKind, expected: kind }, `ignoring a manifest that is not a ${kind}`);
    return undefined;
  }
  if (
    typeof name !== 'string' ||
    name === '' ||
    typeof namespace !== 'string' ||
    namespace === ''
  ) {
    logger.warn(
      {
        namespace: typeof namespace === 'string' ? namespace : undefined,
        name: typeof name === 'string' ? name : undefined,
      },
      `ignoring a ${kind} manifest without metadata.namespace and metadata.name`,
    );
    return undefined;
  }
  return { namespace, name };
}

/** A predicate for `options.namespaces`; absent means every namespace. */
export function namespaceFilter(
  namespaces: readonly string[] | undefined,
): (namespace: string) => boolean {
  if (namespaces === undefined) return () => true;
  const allowed = new Set(namespaces);
  return (namespace) => allowed.has(namespace);
}

/** Orders objects by namespace, then name (code unit order, locale independent). */
export function compareKeys(a: ObjectKey, b: ObjectKey): number {
  if (a.namespace !== b.namespace) return a.namespace < b.namespace ? -1 : 1;
  if (a.name !== b.name) return a.name < b.name ? -1 : 1;
  return 0;
}
