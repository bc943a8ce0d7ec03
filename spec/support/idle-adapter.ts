/**
 * A child process for the keep-alive spec: a kubernetesAdapter on
 * `KUBECONFIG` that is never closed. `wait-ready`: awaits `ready()` first
 * (which must hold the process until the lists are done); `no-wait`: only
 * starts it. Either way the process must then end by itself.
 */
import { kubernetesAdapter } from '../../lib/index.js';

const adapter = kubernetesAdapter();
if (process.argv[2] === 'wait-ready') {
  await adapter.ready();
  process.stdout.write(`ready ${adapter.stats().warehouses}\n`);
} else {
  process.stdout.write('started\n');
}
