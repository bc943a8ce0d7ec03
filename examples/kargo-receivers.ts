// Serve every Azure receiver that Kargo ProjectConfigs declare, at Kargo's paths.
import express from 'express';
import { kargoReceivers } from 'kargo-azure-receiver';

const app = express();
const receivers = kargoReceivers({ baseURL: 'https://kargo-webhooks.example.com' });
app.use(receivers); // at '/': Kargo's exact paths, POST /azure/<token>
await receivers.ready(); // until then every webhook is answered 503 (Azure retries)
app.listen(8080);
process.on('SIGTERM', () => void receivers.close());
