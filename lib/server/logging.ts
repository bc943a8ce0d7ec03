/** The server's pino logger: JSON lines on stdout, fields that could carry a token redacted. @module */
import { pino, type DestinationStream, type Logger as PinoLogger } from 'pino';

/** pino levels accepted by `--log-level`. */
export const LOG_LEVELS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const;
/** A pino level. */
export type LogLevel = (typeof LOG_LEVELS)[number];

const REDACTED = '[REDACTED]';

/** A request path safe to log: the segment after `/azure/` (the URL token) and any query replaced. */
export function redactPath(path: string): string {
  const [pathname = ''] = path.split(/[?#]/, 1);
  const redacted = pathname.replace(/(\/azure\/)[^/]+/gi, `$1${REDACTED}`);
  return redacted + (pathname.length < path.length ? `?${REDACTED}` : '');
}

/** Fields holding a path or URL: logged through {@link redactPath}. */
const PATH_FIELDS = [
  'path',
  'url',
  'originalUrl',
  'req.url',
  'req.path',
  'req.originalUrl',
  'err.url',
  'err.path',
];
/** Fields never logged at all. */
const SECRET_FIELDS = [
  'token',
  'secret',
  'tokens',
  'req.params',
  'req.headers.authorization',
  'headers.authorization',
  'authorization',
];

/** Builds the server logger. `destination` defaults to stdout, written synchronously so nothing is lost at exit. */
export function createLogger(level: LogLevel, destination?: DestinationStream): PinoLogger {
  return pino(
    {
      level,
      base: { name: 'kargo-azure-receiver' },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [...PATH_FIELDS, ...SECRET_FIELDS],
        censor: (value: unknown, path: string[]) => {
          const key = path[path.length - 1] ?? '';
          return typeof value === 'string' &&
            PATH_FIELDS.some((f) => f.endsWith(key)) &&
            !SECRET_FIELDS.includes(key)
            ? redactPath(value)
            : REDACTED;
        },
      },
    },
    destination ?? pino.destination({ dest: 1, sync: true }),
  );
}
