/**
 * ARCHITECTURE.md stays true while code moves: every file it names exists,
 * and every room of lib/ has a row in its table.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';

const root = new URL('../', import.meta.url);
const page = readFileSync(new URL('ARCHITECTURE.md', root), 'utf8');

describe('ARCHITECTURE.md', function () {
  it('names only files that exist', function () {
    const named = [...page.matchAll(/`((?:lib\/|spec\/)?[\w./-]+\.ts)`/g)].map((m) => m[1]!);
    assert.ok(named.length > 30, `${named.length} files named`);
    const everywhere = readdirSync(new URL('lib/', root), { recursive: true }).map(String);
    // A path is read from lib/ (or the root); a bare name, as in the rooms table, anywhere in lib/.
    const missing = named.filter((file) =>
      file.includes('/')
        ? !existsSync(new URL(/^(lib|spec)\//.test(file) ? file : `lib/${file}`, root))
        : !everywhere.some((entry) => entry === file || entry.endsWith(`/${file}`)),
    );
    assert.deepEqual(missing, []);
  });

  it('has a row for every room of lib/', function () {
    const rooms = readdirSync(new URL('lib/', root), { withFileTypes: true })
      .filter((entry) => entry.isDirectory())
      .map((entry) => entry.name);
    const rows = page.split('\n').filter((line) => line.startsWith('| `lib/'));
    assert.deepEqual(
      rooms.filter(
        (room) => !rows.some((row) => row.split(' | ')[0]!.includes(`\`lib/${room}/\``)),
      ),
      [],
    );
  });
});
