/**
 * A fake adapter for tests of apps that mount the receiver: it answers
 * lookups from a list or a function and records every call.
 * @module
 */
import type { Adapter, ReceiverEvent, RefreshTarget } from '../types.js';
import { withAdapterMembers } from '../adapter-members.js';

/** Options of {@link recordingAdapter}. */
export interface RecordingAdapterOptions {
  /** What `lookup` answers: a fixed list, or a function of the event. Default: nothing. */
  targets?: readonly RefreshTarget[] | ((event: ReceiverEvent) => readonly RefreshTarget[]);
  /** When set, `lookup` rejects with this error (to test the 503 path). */
  lookupError?: Error;
  /** `refresh` rejects with this error for these targets (matched by kind, namespace and name). */
  refreshErrors?: ReadonlyArray<{ target: RefreshTarget; error: Error }>;
}

/** What {@link recordingAdapter} returns: an {@link Adapter} and its records. */
export interface RecordingAdapter extends Adapter {
  /** Every event `lookup` was called with, in order. */
  readonly lookups: ReceiverEvent[];
  /** Every target `refresh` was called with, in order (failed ones included). */
  readonly refreshes: RefreshTarget[];
  /** Forgets the records. */
  reset(): void;
}

function sameTarget(a: RefreshTarget, b: RefreshTarget): boolean {
  return a.kind === b.kind && a.namespace === b.namespace && a.name === b.name;
}

/** A fake adapter that records its calls; spread it into `azureReceiver`'s options (`{ token, ...recordingAdapter() }`). */
export function recordingAdapter(options: RecordingAdapterOptions = {}): RecordingAdapter {
  const lookups: ReceiverEvent[] = [];
  const refreshes: RefreshTarget[] = [];
  return withAdapterMembers({
    lookups,
    refreshes,
    async lookup(event) {
      lookups.push(event);
      if (options.lookupError) throw options.lookupError;
      const targets =
        typeof options.targets === 'function' ? options.targets(event) : (options.targets ?? []);
      return [...targets];
    },
    async refresh(target) {
      refreshes.push(target);
      const failure = options.refreshErrors?.find((f) => sameTarget(f.target, target));
      if (failure) throw failure.error;
    },
    reset() {
      lookups.length = 0;
      refreshes.length = 0;
    },
  });
}
