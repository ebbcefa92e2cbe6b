// Promotion without a deploy, across processes: a service runs a shadow set against a real
// SQLite file or PostgreSQL schema; `tracks promote` in this process turns it into a live A/B
// test, and the service picks that up within its control interval.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runCli } from '../../src/cli/run-cli.js';
import { buildReport, readAnalysis, storeFrom } from '../../src/index.js';
import { eventually } from '../support/eventually.js';
import { POSTGRES_SKIP, postgresUrl, schemasFor } from '../support/postgres.js';

const dir = mkdtempSync(join(tmpdir(), 'tracks-promote-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const schemaFor = schemasFor('promote');

const stores: Array<{ name: string; spec: () => string; skip?: string }> = [
  { name: 'SQLite', spec: () => join(dir, 'shadow.db') },
  {
    name: 'PostgreSQL',
    spec: () => `${postgresUrl}${postgresUrl!.includes('?') ? '&' : '?'}schema=${schemaFor('p')}`,
    ...(postgresUrl === undefined ? { skip: POSTGRES_SKIP } : {}),
  },
];

for (const kind of stores) {
  test(`tracks promote: a second process running the shadow set picks the promotion up (${kind.name})`, { skip: kind.skip ?? false }, async () => {
    const spec = kind.spec();
    const service = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(new URL('./fixtures/shadow-service.ts', import.meta.url))], {
      env: { ...process.env, STORE: spec },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: string[] = [];
    let stderr = '';
    service.stdout.setEncoding('utf8').on('data', (chunk: string) => lines.push(...chunk.split('\n').filter(Boolean)));
    service.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const exited = new Promise<number | null>((resolve) => service.on('exit', resolve));
    const store = storeFrom(spec);
    try {
      await eventually(() => lines.includes('shadow'), `the service runs the set in shadow mode (stderr: ${stderr})`);
      await eventually(async () => ((await store.readShadow!('shadow-process')).tracks[0]?.mismatches ?? 0) >= 3, 'shadow runs with mismatches are recorded');
      const out: string[] = [];
      const code = await runCli(['promote', 'shadow-process', '--store', spec], { stdout: (t) => out.push(t), stderr: (t) => out.push(t), env: {} });
      assert.equal(code, 0, out.join('\n'));
      assert.match(out.join('\n'), /shadow-process promoted: every process runs it as a live A\/B test/);
      assert.match(out.join('\n'), /What its shadow found:\n {2}new: disagreed on \d+\.\d\d% of [\d,]+ runs compared; 0 errors, 0 timeouts/);
      await eventually(() => lines.includes('assigned'), 'the service assigns tracks after the promotion');
      service.kill('SIGTERM');
      assert.equal(await exited, 0, stderr);
      const { sums, metrics, shadow } = await readAnalysis(store, { daily: false });
      const set = buildReport(sums, { metrics, shadow }).trackSets.find((s) => s.id === 'shadow-process')!;
      assert.equal(set.shadow?.mode, 'promoted');
      const candidate = set.shadow!.candidates[0]!;
      assert.ok(candidate.mismatches > 0 && candidate.matches > candidate.mismatches, `${candidate.matches} matches, ${candidate.mismatches} mismatches`);
      assert.ok(set.users > 0, 'the live test exposes users');
      assert.deepEqual(new Set(set.tracks.map((t) => t.name)), new Set(['old', 'new']));
      // Promoting again changes nothing, and says so.
      const again: string[] = [];
      await runCli(['promote', 'shadow-process', '--store', spec], { stdout: (t) => again.push(t), stderr: (t) => again.push(t), env: {} });
      assert.match(again.join('\n'), /already promoted; nothing changed/);
    } finally {
      if (service.exitCode === null) service.kill('SIGKILL');
      await store.close();
    }
  });
}
