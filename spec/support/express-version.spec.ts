import assert from 'node:assert/strict';
import express from 'express';

// Proves the run really is on the Express major it claims (see
// select-express.mjs): Express 5 dropped `express.query`.
describe('test harness', () => {
  it(`runs on Express ${process.env.KAR_EXPRESS === '4' ? 4 : 5}`, () => {
    const major = typeof (express as unknown as { query?: unknown }).query === 'function' ? 4 : 5;
    assert.equal(major, process.env.KAR_EXPRESS === '4' ? 4 : 5);
  });
});
