import http from 'node:http';
import express from 'express';
import { azureReceiver, memoryAdapter } from 'kargo-azure-receiver';

const app = express();
app.use('/azure', azureReceiver({ token: 'a-token-of-at-least-16-chars', ...memoryAdapter() }));

// Node checks the two request timeouts every connectionsCheckingInterval
// (30 s by default, so a 10 s timeout could cut at 40 s): check every second.
const server = http.createServer({ connectionsCheckingInterval: 1000 }, app);
server.headersTimeout = 10_000; // the request headers within 10 s
server.requestTimeout = 30_000; // the whole request within 30 s
server.keepAliveTimeout = 65_000; // longer than a load balancer's 60 s idle timeout
// Leave server.timeout (an idle-socket timeout) at 0, or above deadlineMs:
// it would cut a webhook that waits on the API server, where the receiver answers 503.
server.listen(8080);
