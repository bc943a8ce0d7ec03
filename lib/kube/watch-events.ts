/**
 * One watch event (ADDED, MODIFIED, DELETED, BOOKMARK) applied, or an ERROR event's error thrown.
 * @module
 */
import { KubeHttpError, safeReason } from './http-error.js';
import { Expired, type ListTarget, keyOf } from './paged-list.js';
import type { WatchEvent } from './watch-stream.js';
import type { KubeObjectLike } from './watcher-options.js';

/** Applies `event` to `target`: its resourceVersion when progress, else undefined; {@link Expired} on 410. */
export function applyWatchEvent<T extends KubeObjectLike>(
  event: WatchEvent,
  target: ListTarget<T>,
): { resourceVersion: string | undefined } | undefined {
  const object = (event.object ?? {}) as T & { code?: unknown; reason?: unknown };
  const resourceVersion = object.metadata?.resourceVersion;
  const name = object.metadata?.name;
  const namespace = object.metadata?.namespace;
  switch (event.type) {
    case 'ADDED':
    case 'MODIFIED':
      if (!name) return undefined;
      target.known.set(keyOf(namespace, name), resourceVersion ?? '');
      target.onUpsert(object);
      break;
    case 'DELETED':
      if (!name) return undefined;
      target.known.delete(keyOf(namespace, name));
      target.onDelete({ namespace, name }, object);
      break;
    case 'BOOKMARK':
      break;
    case 'ERROR': {
      if (object.code === 410) throw new Expired();
      // A Status may ask to retry later, e.g. "Too large resource version" (504, retryAfterSeconds 1:
      // apimachinery api/errors NewTooLargeResourceVersionError).
      const details = (object as { details?: { retryAfterSeconds?: unknown } }).details;
      const retryAfter = details?.retryAfterSeconds;
      throw new KubeHttpError(
        typeof object.code === 'number' ? object.code : undefined,
        safeReason(object.reason),
        typeof retryAfter === 'number' && retryAfter > 0 ? retryAfter * 1000 : undefined,
      );
    }
    default:
      return undefined;
  }
  return { resourceVersion };
}
