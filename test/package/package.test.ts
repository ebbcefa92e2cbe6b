// The published package, as a user gets it: `npm pack` holds LICENSE, README, docs, examples and dist
// (declarations and the dashboard's assets, no source maps to files it does not ship); its
// package.json runs nothing at install and declares every subpath with `types` first; and a
// strict NodeNext project with skipLibCheck off and no @types beyond node and express
// type-checks code using every public export and every subpath against the tarball, and
// writes its declaration files (a user's exported function may return a run).
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tracks-package-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let tarball: string;
let files: string[];
let manifest: Record<string, unknown> & { exports: Record<string, Record<string, string> | string>; scripts?: Record<string, string> };

before(() => {
  // `npm test` has built dist already: pack it as it is.
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ filename: string; files: Array<{ path: string }> }>;
  tarball = join(dir, packed[0]!.filename);
  files = packed[0]!.files.map((f) => f.path);
  const unpacked = join(dir, 'unpacked');
  mkdirSync(unpacked);
  execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
  manifest = JSON.parse(readFileSync(join(unpacked, 'package', 'package.json'), 'utf8')) as typeof manifest;
});

test('npm pack ships LICENSE, README, docs and dist with declarations and the dashboard assets, and no source maps', () => {
  // examples: the README's samples import examples/readme-setup.ts, and the demo runs from them.
  for (const file of ['LICENSE', 'README.md', 'docs/statistics.md', 'docs/report-json.md', 'dist/index.js', 'dist/index.d.ts', 'dist/cli/main.js', 'dist/dashboard/vendor/chart.umd.min.js', 'examples/readme-setup.ts', 'examples/coconut-store.ts', 'examples/coconut-store/catalog.ts']) {
    assert.ok(files.includes(file), `${file} is in the package`);
  }
  for (const subpath of ['express', 'fastify', 'hono', 'openfeature']) {
    assert.ok(files.includes(`dist/integrations/${subpath}.js`) && files.includes(`dist/integrations/${subpath}.d.ts`), subpath);
  }
  assert.deepEqual(files.filter((f) => f.endsWith('.map')), [], 'no source maps (they would point at src/, which is not shipped)');
  assert.deepEqual(files.filter((f) => f.startsWith('src/') || f.startsWith('test/')), []);
  const unpacked = join(dir, 'unpacked', 'package', 'dist');
  const js = (folder: string): string[] => readdirSync(folder, { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? js(join(folder, e.name)) : e.name.endsWith('.js') ? [join(folder, e.name)] : []));
  const linking = js(unpacked).filter((file) => /^\/\/# sourceMappingURL=/m.test(readFileSync(file, 'utf8')));
  assert.deepEqual(linking, [], 'no file links to a map');
});

test('package.json: nothing runs at install, every subpath has types first, sideEffects and engines set', () => {
  for (const hook of ['preinstall', 'install', 'postinstall', 'prepare']) assert.equal(manifest.scripts?.[hook], undefined, `no ${hook} script`);
  assert.deepEqual(Object.keys(manifest.exports), ['.', './express', './fastify', './hono', './openfeature', './package.json']);
  for (const [subpath, target] of Object.entries(manifest.exports)) {
    if (typeof target === 'string') continue;
    assert.equal(Object.keys(target)[0], 'types', `${subpath}: types comes first`);
    assert.ok(files.includes(target.types!.replace('./', '')) && files.includes(target.default!.replace('./', '')), `${subpath} points at shipped files`);
  }
  assert.equal(manifest.sideEffects, false);
  assert.deepEqual(manifest.engines, { node: '>=20' });
  assert.equal(manifest.license, 'MIT');
  const peers = manifest.peerDependenciesMeta as Record<string, { optional: boolean }>;
  for (const peer of ['express', 'fastify', 'hono', '@openfeature/server-sdk', 'better-sqlite3']) assert.equal(peers[peer]?.optional, true, `${peer} is an optional peer`);
  // The lowest versions the subpaths work with: client.track() came in server-sdk 1.16 (1.15.1
  // has neither it nor TrackingEventDetails), and tracks/hono's types need hono 4.5's Env.
  const ranges = manifest.peerDependencies as Record<string, string>;
  assert.equal(ranges['@openfeature/server-sdk'], '^1.16.1');
  assert.equal(ranges.hono, '^4.5.0');
  // A dependency with an install script (better-sqlite3 builds a native module) would make npm
  // warn on every install of tracks; the driver is the application's to install and approve.
  assert.equal((manifest.dependencies as Record<string, string>)['better-sqlite3'], undefined, 'better-sqlite3 is not a dependency');
});

test('a fresh npm install of the tarball prints no install-script warning of ours', () => {
  const project = join(dir, 'fresh');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'fresh', private: true, type: 'module' }));
  // A dry run resolves the whole tree (from npm's cache when it can) and prints what a real
  // install would warn about, install scripts included, without running or writing anything.
  const run = spawnSync(npm, ['install', '--dry-run', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=warn', tarball], {
    cwd: project,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: 120_000,
  });
  assert.equal(run.status, 0, `npm install --dry-run failed: ${run.stderr}`);
  // npm writes its warnings to stderr.
  const warnings = `${run.stdout}\n${run.stderr}`.split('\n').filter((line) => /install scripts|allow-scripts|allowScripts/i.test(line));
  assert.deepEqual(warnings, []);
});

test('a strict NodeNext project with skipLibCheck off type-checks every export and subpath against the tarball', () => {
  const project = join(dir, 'project');
  mkdirSync(project);
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'scratch', private: true, type: 'module' }));
  const own = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { devDependencies: Record<string, string> };
  const pin = (name: string) => `${name}@${own.devDependencies[name]}`;
  // Only @types/node and @types/express: what a framework's own TypeScript users install anyway.
  execFileSync(
    npm,
    ['install', '--ignore-scripts', '--prefer-offline', '--no-audit', '--no-fund', tarball, pin('express'), pin('@types/express'), pin('@types/node'), pin('fastify'), pin('hono'), pin('@hono/node-server'), pin('@openfeature/server-sdk')],
    { cwd: project, stdio: 'ignore', timeout: 180_000 },
  );
  const types = readdirSync(join(project, 'node_modules', '@types'));
  assert.ok(types.includes('node') && types.includes('express'));
  assert.ok(!types.includes('pg') && !types.includes('better-sqlite3'), 'no @types/pg nor @types/better-sqlite3');
  cpSync(join(ROOT, 'test/package/fixtures/consumer.ts'), join(project, 'consumer.ts'));
  cpSync(join(ROOT, 'test/package/fixtures/tsconfig.json'), join(project, 'tsconfig.json'));
  const tsc = join(createRequire(import.meta.url).resolve('typescript/package.json'), '..', 'bin', 'tsc');
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
  } catch (error) {
    assert.fail(`the user's project does not type-check:\n${(error as { stdout?: string }).stdout ?? String(error)}`);
  }
  assert.match(readFileSync(join(project, 'declarations', 'consumer.d.ts'), 'utf8'), /export declare function pickDelay\(key: string\)/);
  // The installed CLI answers --version and help.
  const cli = join(project, 'node_modules', 'tracks', 'dist', 'cli', 'main.js');
  assert.match(execFileSync(process.execPath, [cli, '--version'], { encoding: 'utf8' }), /^tracks \d+\.\d+\.\d+/);
  assert.match(execFileSync(process.execPath, [cli, 'help'], { encoding: 'utf8' }), /^Usage: tracks <command>[\s\S]*  report /);
});
