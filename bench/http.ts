// HTTP overhead of the framework adapters: requests per second of a small route under Express,
// Fastify and Hono, bare and with the adapter plus one track run and one recorded exposure per
// request, measured with autocannon on 127.0.0.1. A peer row, bare plus an AsyncLocalStorage
// scope per request and nothing else, shows what any request-scoped library pays on this Node
// (promise hooks on every promise, before Node 22's AsyncContextFrame). Each server runs in its own process; bare and
// tracks alternate (two rounds each, best kept) so that drift on the machine hits both alike.
import { fork } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import { printTable, verdict } from './harness.js';

const SECONDS = Number(process.env.BENCH_HTTP_SECONDS ?? 5);
const dir = mkdtempSync(join(tmpdir(), 'tracks-bench-http-'));

async function serve(framework: string, mode: string, round: number): Promise<{ child: ChildProcess; port: number }> {
  const child = fork(new URL('./http-server.ts', import.meta.url).pathname, [framework, mode, join(dir, `${framework}-${round}.db`)], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const port = await new Promise<number>((resolve, reject) => {
    child.once('message', (m) => resolve((m as { port: number }).port));
    child.once('exit', (code) => reject(new Error(`the ${framework} server exited (${code})`)));
  });
  return { child, port };
}

/** Requests per second, and the server's CPU time per request (every thread), of one run. */
async function measureRun(framework: string, mode: string, round: number): Promise<{ rps: number; cpuMicrosPerRequest: number }> {
  const { child, port } = await serve(framework, mode, round);
  const reply = () => new Promise<Record<string, number>>((resolve) => child.once('message', (m) => resolve(m as Record<string, number>)));
  // A short warm-up, then the measured run.
  await autocannon({ url: `http://127.0.0.1:${port}/catalog`, connections: 50, duration: 1 });
  child.send('mark');
  await reply();
  const result = await autocannon({ url: `http://127.0.0.1:${port}/catalog`, connections: 50, duration: SECONDS });
  const errors = result.errors + result.non2xx;
  child.send('close');
  const { cpuMicros } = await reply();
  await new Promise((resolve) => child.once('exit', resolve));
  if (errors > 0) throw new Error(`${framework} ${mode}: ${errors} failed requests`);
  return { rps: result.requests.average, cpuMicrosPerRequest: cpuMicros! / result.requests.total };
}

const ROUNDS = 3;
const MODES = ['bare', 'scope', 'returning', 'new'] as const;
const LABELS = { scope: 'peer: an AsyncLocalStorage scope only', returning: '10,000 returning users', new: 'a new user (a new exposure) every request' } as const;
const rows: string[][] = [['framework', 'case', 'req/s (best)', 'ratio', 'server CPU µs/request (least)', 'capacity ratio']];
const verdicts: string[] = [];
try {
  for (const framework of ['express', 'fastify', 'hono']) {
    const best = { bare: { rps: 0, cpu: Infinity }, scope: { rps: 0, cpu: Infinity }, returning: { rps: 0, cpu: Infinity }, new: { rps: 0, cpu: Infinity } };
    // Rounds interleave the cases, so that drift on a shared machine hits them alike.
    for (let round = 0; round < ROUNDS; round++) {
      for (const mode of MODES) {
        const run = await measureRun(framework, mode, round);
        best[mode] = { rps: Math.max(best[mode].rps, run.rps), cpu: Math.min(best[mode].cpu, run.cpuMicrosPerRequest) };
      }
    }
    rows.push([framework, 'bare', best.bare.rps.toFixed(0), '', best.bare.cpu.toFixed(1), '']);
    const scopeRatio = best.scope.rps / best.bare.rps;
    rows.push([framework, LABELS.scope, best.scope.rps.toFixed(0), scopeRatio.toFixed(3), best.scope.cpu.toFixed(1), (best.bare.cpu / best.scope.cpu).toFixed(3)]);
    verdicts.push(`      ${framework}, ${LABELS.scope} / bare requests per second: ${scopeRatio.toFixed(3)} (the floor of a request scope on this Node)`);
    for (const mode of ['returning', 'new'] as const) {
      const ratio = best[mode].rps / best.bare.rps;
      // CPU per request decides how many requests a saturated server answers, whatever the neighbours do.
      const capacity = best.bare.cpu / best[mode].cpu;
      rows.push([framework, LABELS[mode], best[mode].rps.toFixed(0), ratio.toFixed(3), best[mode].cpu.toFixed(1), capacity.toFixed(3)]);
      verdicts.push(
        framework === 'hono'
          ? `      ${framework}, ${LABELS[mode]}: with tracks / bare requests per second: ${ratio.toFixed(3)}; by CPU per request: ${capacity.toFixed(3)} (printed, no target)`
          : verdict(`${framework}, ${LABELS[mode]}: with tracks / bare requests per second`, ratio, 0.95, 'at least') + `; by CPU per request: ${capacity.toFixed(3)}`,
      );
    }
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
printTable(`HTTP (autocannon, 50 connections, ${SECONDS} s per run, best of ${ROUNDS}; with tracks: the adapter and one track run per request, exposures recorded to SQLite)`, rows);
console.log('');
for (const line of verdicts) console.log(line);
