import type { ReceiverEvent, RefreshTarget } from '../../lib/types.js';

/**
 * A hand-written fake adapter that records its calls. `targets` is what
 * lookup answers; `failLookup` and `failRefresh` inject failures.
 */
export class RecordingAdapter {
  readonly lookups: ReceiverEvent[] = [];
  readonly refreshes: RefreshTarget[] = [];
  targets: RefreshTarget[] = [];
  failLookup: Error | undefined;
  failRefresh = new Set<string>();
  /** Delay of each refresh, to observe concurrency. */
  refreshDelayMs = 0;
  inFlight = 0;
  maxInFlight = 0;

  readonly lookup = async (event: ReceiverEvent): Promise<RefreshTarget[]> => {
    this.lookups.push(event);
    if (this.failLookup) throw this.failLookup;
    return this.targets;
  };

  readonly refresh = async (target: RefreshTarget): Promise<void> => {
    this.refreshes.push(target);
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    try {
      if (this.refreshDelayMs > 0) await new Promise((r) => setTimeout(r, this.refreshDelayMs));
      if (this.failRefresh.has(target.name)) {
        throw Object.assign(
          new Error(
            `HTTP-Code: 500 Body: {"secret":"leaked"} Headers: {"authorization":"Bearer x"}`,
          ),
          {
            code: 500,
          },
        );
      }
    } finally {
      this.inFlight--;
    }
  };

  get calls(): number {
    return this.lookups.length + this.refreshes.length;
  }
}

/** A logger that keeps every line, to assert what was (not) logged. */
export class RecordingLogger {
  readonly lines: Array<{ level: string; obj: object; msg?: string }> = [];
  debug(obj: object, msg?: string): void {
    this.lines.push({ level: 'debug', obj, msg });
  }
  info(obj: object, msg?: string): void {
    this.lines.push({ level: 'info', obj, msg });
  }
  warn(obj: object, msg?: string): void {
    this.lines.push({ level: 'warn', obj, msg });
  }
  error(obj: object, msg?: string): void {
    this.lines.push({ level: 'error', obj, msg });
  }
  /** Everything logged, serialized, to search for leaks. */
  text(): string {
    return JSON.stringify(this.lines);
  }
}

export function warehouse(name: string, namespace = 'kargo-demo'): RefreshTarget {
  return { kind: 'Warehouse', namespace, name };
}
