// An app whose other routes need an app-wide express.json(): mount the
// receiver BEFORE it (the receiver reads its own body, up to 2 MiB); if the
// parser must come first, add bodyParserErrors() after the receiver, at the
// same path, so that its failures get the receiver's JSON answers.
import express from 'express';
import { azureReceiver, bodyParserErrors, memoryAdapter } from 'kargo-azure-receiver';

const token = process.env.AZURE_WH_TOKEN ?? 'a-token-of-at-least-16-chars';

// Best: the receiver first, the parser for the routes after it.
export const receiverFirst = express();
receiverFirst.use('/azure', azureReceiver({ token, ...memoryAdapter() }));
receiverFirst.use(express.json());

// Parser first: 400 {"error":"invalid request body"} for malformed JSON,
// 413 {"error":"request body larger than 102400 bytes"} past its limit.
export const parserFirst = express();
parserFirst.use(express.json());
parserFirst.use('/azure', azureReceiver({ token, ...memoryAdapter() }), bodyParserErrors());
