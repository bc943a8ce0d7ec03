import assert from 'node:assert/strict';
import { createServer } from 'node:http';
import { listen } from '../../lib/server/listen.js';

describe('listen', () => {
  it('resolves with the address, and rejects with EADDRINUSE on a taken port', async () => {
    const first = createServer();
    const second = createServer();
    try {
      const address = await listen(first, 0, '127.0.0.1');
      assert.equal(address.address, '127.0.0.1');
      assert.ok(address.port > 0);
      await assert.rejects(
        listen(second, address.port, '127.0.0.1'),
        (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE',
      );
      assert.equal(second.listenerCount('error'), 0, 'no listener left behind');
    } finally {
      first.close();
    }
  });
});
