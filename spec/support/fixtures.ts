import { readFileSync } from 'node:fs';

const dir = new URL('../fixtures/azure/', import.meta.url);

/** The raw text of a real Azure payload from spec/fixtures/azure/. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`${name}.json`, dir), 'utf8');
}

/** A real Azure payload as a fresh object, ready to be varied. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- payloads are varied freely in tests
export function fixture(name: string): Record<string, any> {
  return JSON.parse(fixtureText(name)) as Record<string, unknown>;
}
