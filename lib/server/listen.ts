/** Listening that rejects on a taken port or bad address (Express 4's `app.listen` never calls back on error). @module */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** Starts `server` on `port` (0: any free port) and resolves with the address it got. */
export async function listen(
  server: Server,
  port: number,
  host: string | undefined,
): Promise<AddressInfo> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server.address() as AddressInfo;
}
