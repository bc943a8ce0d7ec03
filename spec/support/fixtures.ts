import { readFileSync } from 'node:fs';

const dir = new URL('../fixtures/azure/', import.meta.url);

/** The raw text of a real Azure payload from spec/fixtures/azure/. */
export function fixtureText(name: string): string {
  return readFileSync(new URL(`${name}.json`, dir), 'utf8');
}

/** A real Azure payload as a fresh object, ready to be varied. */
export function fixture<T = Record<string, any>>(name: string): T {
  return JSON.parse(fixtureText(name)) as T;
}
