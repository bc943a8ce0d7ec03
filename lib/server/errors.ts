/** Messages safe to print from the command line. @module */

/** A message safe to print: ours and Node's in full; others (ApiException embeds bodies) by name only. */
export function safeErrorMessage(err: unknown): string {
  if (!(err instanceof Error)) return 'unexpected failure';
  const code = (err as { code?: unknown }).code;
  const syscall = (err as { syscall?: unknown }).syscall;
  if (
    typeof syscall === 'string' ||
    err.message.startsWith('[kargo-azure-receiver]') ||
    err.name === 'KubernetesAdapterError' ||
    err.name === 'CommandError' ||
    err.name === 'KubeHttpError' ||
    err.name === 'KubeClusterError'
  ) {
    return err.message;
  }
  if (err.name === 'Error' && typeof code !== 'string' && /^(ENOENT|EACCES)/.test(err.message))
    return err.message;
  return `unexpected ${err.name}${typeof code === 'string' ? ` (${code})` : ''}`;
}

/** A failure a command reports in one line (a file it cannot read, a payload it cannot use), exit 1. */
export class CommandError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CommandError';
  }
}
