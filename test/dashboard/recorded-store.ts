/**
 * Helpers for the dashboard command and PostgreSQL dashboard tests: run the built `tracks` CLI as a process, start
 * `tracks dashboard` and read the address it prints, and seed a store through the public
 * recording API (configure / TrackSet / convert / flush / close) with realistic volumes.
 */
import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { join } from 'node:path';
import { mock } from 'node:test';
import { TrackSet, close, configure, convert, flush } from '../../src/index.js';
import { seededRandom } from '../support/random.js';

export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const CLI = join(ROOT, 'dist/cli/main.js');
export const CHROMIUM = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const XSS = '<img src=x onerror=alert(1)>';

export interface Ran {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `tracks <args>` (the built bin) to completion. */
export function runTracks(args: readonly string[], env: Record<string, string | undefined> = {}, timeoutMs = 30_000): Promise<Ran> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tracks ${args.join(' ')} did not finish in ${timeoutMs} ms; stdout ${stdout} stderr ${stderr}`));
    }, timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function cleanEnv(env: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const base: NodeJS.ProcessEnv = { ...process.env };
  delete base.TRACKS_STORE;
  delete base.TRACKS_DASHBOARD_TOKEN;
  for (const [k, v] of Object.entries(env)) {
    if (v === undefined) delete base[k];
    else base[k] = v;
  }
  return base;
}

export interface Dashboard {
  readonly url: string;
  readonly child: ChildProcess;
  readonly line: string;
  /** What it printed on stderr so far. */
  stderr(): string;
  stop(): Promise<number | null>;
}

/** Starts `tracks dashboard <args>` and resolves once it prints its address. */
export function startDashboardCli(args: readonly string[], env: Record<string, string | undefined> = {}): Promise<Dashboard> {
  const child = spawn(process.execPath, [CLI, 'dashboard', ...args], { cwd: ROOT, env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`tracks dashboard printed no address in 20 s: ${out} ${err}`));
    }, 20_000);
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString();
      const match = /^tracks dashboard: (http:\/\/\S+) .*$/m.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve({
          url: match[1]!,
          child,
          line: match[0],
          stderr: () => err,
          stop: () =>
            new Promise((done) => {
              if (child.exitCode !== null) return done(child.exitCode);
              child.once('exit', (code) => done(code));
              child.kill('SIGINT');
            }),
        });
      }
    });
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tracks dashboard exited with ${code}: ${err}`));
    });
  });
}

/** The checkout test: the long delay hurts conversion and sometimes fails. */
export class CheckoutDelay extends TrackSet {
  static override id = 'checkout-delay';
  static short_delay_track() {
    return 1;
  }
  static long_delay_track(fail: boolean) {
    if (fail) throw new Error('timeout');
    return 2;
  }
}

/** A set whose names come from user code and look like HTML. */
export class XssTracks extends TrackSet {
  static override id = XSS;
  static override weights = { control: 1, [XSS]: 1 };
  static override addControlTrack = false;
  static control_track() {
    return 0;
  }
  static [`${XSS}_track`]() {
    return 1;
  }
}

/** A set that sees very few users: the "too few users" badge. */
export class RareTracks extends TrackSet {
  static override id = 'rare-path';
  static fast_track() {
    return 1;
  }
}

export interface SeedOptions {
  readonly users: number;
  readonly days?: number;
  readonly keyPrefix?: string;
  /** Extra configure() options, e.g. `schema`. */
  readonly extra?: Record<string, unknown>;
}

/**
 * Records `users` users of checkout-delay (plus a few of the XSS-named set and rare-path) into
 * `store` through the public API, spread over `days` days so the lift has daily points.
 */
export async function seed(store: string, options: SeedOptions): Promise<void> {
  const days = options.days ?? 3;
  const prefix = options.keyPrefix ?? 'u';
  const rand = seededRandom(1234);
  const today = Date.UTC(new Date().getUTCFullYear(), new Date().getUTCMonth(), new Date().getUTCDate(), 1);
  let now = today - (days - 1) * 86_400_000;
  const clock = mock.method(Date, 'now', () => now);
  try {
    configure({
      store,
      outbox: false,
      handleSignals: false,
      metrics: { purchase: { kind: 'conversion' }, revenue: { kind: 'sum' }, [XSS]: { kind: 'conversion' } },
      ...options.extra,
    });
    const perDay = Math.ceil(options.users / days);
    for (let i = 0; i < options.users; i++) {
      const day = Math.floor(i / perDay);
      now = today - (days - 1 - day) * 86_400_000 + (i % perDay) * 10;
      const key = `${prefix}${i}`;
      const t = new CheckoutDelay({ key });
      try {
        t.run(rand() < 0.02);
      } catch {
        // the long delay sometimes times out
      }
      const rate = t.name === 'long_delay' ? 0.08 : 0.1;
      if (rand() < rate) {
        convert({ key, metric: 'purchase' });
        convert({ key, metric: 'revenue', value: Math.round(10 + rand() * 90) });
      }
      if (i % 50 === 0) {
        new XssTracks({ key }).run();
        if (rand() < 0.3) convert({ key, metric: XSS });
      }
      if (i % 2000 === 0) new RareTracks({ key }).run();
      if (i % 10_000 === 9_999) await flush();
    }
    await flush();
    await close();
  } finally {
    clock.mock.restore();
  }
}

/** Waits until `check` returns a truthy value, or fails after `ms`. */
export async function waitFor<T>(what: string, check: () => Promise<T | undefined | false> | T | undefined | false, ms = 15_000): Promise<T> {
  const end = Date.now() + ms;
  let last: unknown;
  while (Date.now() < end) {
    try {
      const value = await check();
      if (value) return value;
    } catch (error) {
      last = error;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${String(last)}` : ''}`);
}
