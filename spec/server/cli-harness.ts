/**
 * Runs the real `kargo-azure-receiver` command as a child process against a
 * FakeKubeApi, through a kubeconfig file in a temporary directory.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { main } from '../../lib/server/cli.js';
import { commands } from '../../lib/server/commands.js';
import type { FakeKubeApi } from '../support/fake-kube-api.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const CLI = join(ROOT, 'lib/server/cli.ts');

/** A temporary kubeconfig file pointing at the fake API server. */
export class TempKubeConfig {
  readonly dir = mkdtempSync(join(tmpdir(), 'kar-cli-'));
  readonly file = join(this.dir, 'kubeconfig.json');

  constructor(api: FakeKubeApi) {
    // exportConfig() is JSON, which is YAML: a kubeconfig file client-node loads.
    writeFileSync(this.file, api.kubeConfig().exportConfig(), { mode: 0o600 });
  }

  remove(): void {
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** One JSON log line of the child. */
export type LogLine = Record<string, unknown> & { msg?: string; level?: string };

/** A finished run of the command. */
export interface RunResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Environment without KAR_* variables of the developer's shell, plus `env`. */
export function childEnv(env: Record<string, string>): NodeJS.ProcessEnv {
  // NODE_V8_COVERAGE is dropped: c8 cannot map a tsx child's coverage back to the sources, and
  // merged unmapped, it would hide what the in-process specs cover.
  const dropped = new Set(['KUBECONFIG', 'NODE_V8_COVERAGE']);
  const base = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !k.startsWith('KAR_') && !dropped.has(k)),
  );
  // Node copies NODE_V8_COVERAGE into a child's env unless the env names it
  // (lib/child_process.js, copyProcessEnvToEnv): an empty value turns it off.
  return { ...base, NODE_V8_COVERAGE: '', ...env };
}

/** Runs the command to completion (`--help`, bad flags, `urls`). */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CLI, ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

/** A `serve` child process, its output captured. */
export class ServeProcess {
  readonly child: ChildProcess;
  stdout = '';
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  #waiters: (() => void)[] = [];

  constructor(args: string[], env: Record<string, string> = {}) {
    this.child = spawn(process.execPath, ['--import', 'tsx', CLI, 'serve', ...args], {
      cwd: ROOT,
      env: childEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      this.stdout += d;
      this.#notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (d: string) => {
      this.stderr += d;
      this.#notify();
    });
    this.exited = new Promise((resolve) => {
      this.child.on('exit', (code, signal) => {
        this.#notify();
        resolve({ code, signal });
      });
    });
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** Every JSON line of stdout so far. */
  get logs(): LogLine[] {
    return this.stdout
      .split('\n')
      .filter((l) => l.startsWith('{'))
      .map((l) => JSON.parse(l) as LogLine);
  }

  /** Waits for a log line matching `predicate` (fails after `timeoutMs` or if the child exits). */
  async waitForLog(predicate: (line: LogLine) => boolean, timeoutMs = 30_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.logs.find(predicate);
      if (found) return found;
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        throw new Error(
          `serve exited (${this.child.exitCode ?? this.child.signalCode}) first; stderr: ${this.stderr}; stdout: ${this.stdout}`,
        );
      }
      const left = deadline - Date.now();
      if (left <= 0)
        throw new Error(
          `no such log line within ${timeoutMs} ms; stdout: ${this.stdout}; stderr: ${this.stderr}`,
        );
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.#waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /**
   * The `listening` line: the main URL and the metrics URL. Three children
   * starting at once took 35 s on a shared 2-core machine (load average 16).
   */
  async listening(timeoutMs = 60_000): Promise<{ url: string; metricsURL: string | undefined }> {
    const line = await this.waitForLog((l) => l.msg === 'listening', timeoutMs);
    return { url: line.url as string, metricsURL: line.metricsURL as string | undefined };
  }

  /** Stops the child if it still runs: SIGTERM (so its coverage is written), SIGKILL after 3 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) {
      this.child.kill('SIGTERM');
      const timer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(timer);
    }
    await this.exited;
  }
}

/** Polls `url` until it answers `status` (fails after `timeoutMs`). */
export async function waitForStatus(url: string, status: number, timeoutMs = 8000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = 0;
  while (Date.now() < deadline) {
    const res = await fetch(url);
    await res.arrayBuffer();
    last = res.status;
    if (last === status) return;
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`${url} answered ${last}, not ${status}, for ${timeoutMs} ms`);
}

/** Runs `main()` in this process, capturing what it writes. Only for arguments that fail before serving. */
export async function runInProcess(
  args: string[],
  env: Record<string, string> = {},
): Promise<RunResult> {
  const saved = { ...process.env };
  Object.assign(process.env, env);
  let stdout = '';
  let stderr = '';
  const write = { out: process.stdout.write, err: process.stderr.write };
  process.stdout.write = ((chunk: string) => (
    (stdout += chunk),
    true
  )) as typeof process.stdout.write;
  process.stderr.write = ((chunk: string) => (
    (stderr += chunk),
    true
  )) as typeof process.stderr.write;
  try {
    // The commands imported statically: main()'s default loads them lazily, which the child-process specs cover.
    const code = await main(['node', 'kargo-azure-receiver', ...args], commands);
    return { code, signal: null, stdout, stderr };
  } finally {
    process.stdout.write = write.out;
    process.stderr.write = write.err;
    for (const k of Object.keys(env))
      if (saved[k] === undefined) Reflect.deleteProperty(process.env, k);
      else process.env[k] = saved[k];
  }
}
