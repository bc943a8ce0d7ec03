// The in-memory adapter: demos, tests, or when something else applies the refresh.
import { readFileSync } from 'node:fs';
import express from 'express';
import { parseAllDocuments } from 'yaml';
import { azureReceiver, memoryAdapter } from 'kargo-azure-receiver';

const text = readFileSync('examples/manifests.yaml', 'utf8');
const warehouses = parseAllDocuments(text).map((doc) => doc.toJS() as object);
const adapter = memoryAdapter({ warehouses });

const app = express();
app.use('/azure', azureReceiver({ token: 'a-token-of-at-least-16-chars', ...adapter }));
app.listen(8080);
// adapter.refreshed: [{ kind, namespace, name, at }, …]
