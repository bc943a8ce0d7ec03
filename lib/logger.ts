import type { Logger } from './types.js';

function noop(): void {
  // quiet by default: a library does not write to stdout unless asked
}

/** The default logger: discards everything. */
export const silentLogger: Logger = { debug: noop, info: noop, warn: noop, error: noop };
