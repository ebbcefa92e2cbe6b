/**
 * Issue 2, point 9, from the issue text alone: in a user's strict
 * NodeNext project (skipLibCheck off, exactOptionalPropertyTypes, noUncheckedIndexedAccess),
 * importing the packed package, correct code compiles and wrong track names, wrong run()
 * arguments, bad force names, missing contexts and positional keys do not
 * (test/core/fixtures/strict-consumer.ts, one @ts-expect-error per promise). Needs dist built,
 * as `npm test` does first.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'tracks-g2-consumer-'));
after(() => rmSync(dir, { recursive: true, force: true, maxRetries: 10 }));

test('a strict user project type-checks the typing promises against the packed package', () => {
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const packed = JSON.parse(execFileSync(npm, ['pack', '--json', '--ignore-scripts', '--pack-destination', dir], { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] })) as Array<{ filename: string }>;
  const project = join(dir, 'project');
  mkdirSync(join(project, 'node_modules', '@types'), { recursive: true });
  execFileSync('tar', ['-xzf', join(dir, packed[0]!.filename), '-C', dir]);
  cpSync(join(dir, 'package'), join(project, 'node_modules', 'tracks'), { recursive: true });
  symlinkSync(join(ROOT, 'node_modules', 'typescript'), join(project, 'node_modules', 'typescript'));
  symlinkSync(join(ROOT, 'node_modules', '@types', 'node'), join(project, 'node_modules', '@types', 'node'));
  writeFileSync(join(project, 'package.json'), JSON.stringify({ name: 'g2-consumer', private: true, type: 'module' }));
  writeFileSync(
    join(project, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        strict: true, module: 'NodeNext', moduleResolution: 'NodeNext', target: 'ES2022', lib: ['ES2022', 'ESNext.Disposable'],
        types: ['node'], noEmit: true, skipLibCheck: false, exactOptionalPropertyTypes: true, noUncheckedIndexedAccess: true,
      },
      files: ['consumer.ts', 'wrong.ts'],
    }),
  );
  const source = readFileSync(join(ROOT, 'test/core/fixtures/strict-consumer.ts'), 'utf8');
  assert.ok((source.match(/@ts-expect-error/g) ?? []).length >= 20, 'the fixture holds its negative cases');
  writeFileSync(join(project, 'consumer.ts'), source);
  // A negative control: a file with a wrong track name must fail, or the check proves nothing.
  writeFileSync(join(project, 'wrong.ts'), "import { TrackSet } from 'tracks';\nclass D extends TrackSet { static id = 'd'; static a_track() { return 1; } }\nexport const n: 'a' | 'control' | 'b' = D.choose({ key: 1, force: 'b' }).name;\n");
  const tsc = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  // One compiler run over both files: errors only in wrong.ts, and exactly the wrong force.
  let output = '';
  try {
    execFileSync(process.execPath, [tsc, '-p', 'tsconfig.json'], { cwd: project, encoding: 'utf8' });
  } catch (error) {
    output = (error as { stdout?: string }).stdout ?? String(error);
  }
  const errors = output.split('\n').filter((line) => /error TS\d+/.test(line));
  assert.equal(errors.filter((line) => !line.startsWith('wrong.ts')).length, 0, `the user's project does not type-check:\n${output}`);
  assert.equal(errors.length, 1, output);
  assert.match(errors[0]!, /^wrong\.ts.*error TS2322.*'"b"'/, 'force: a wrong track name does not compile');
  // The same package runs: the import resolves through exports, and the choice is the documented one.
  const out = execFileSync(process.execPath, ['--input-type=module', '-e', "import { TrackSet, bucketOf } from 'tracks'; class D extends TrackSet { static id = 'delay'; static short_track() {} static long_track() {} } console.log(new D({ key: 'user-1' }).name, bucketOf(D, 'user-2'));"], { cwd: project, encoding: 'utf8' });
  assert.equal(out.trim(), 'control long'); // docs/assignment.md vectors for user-1 and user-2
});
