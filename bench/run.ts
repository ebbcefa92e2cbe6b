// `npm run bench`: every benchmark in its own process (so one's JIT and heap don't colour
// another's), one after the other. `npm run bench -- core report` runs only those.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const all = ['core', 'recording', 'report', 'dashboard', 'http', 'shadow'];
const wanted = process.argv.slice(2);
const names = wanted.length > 0 ? wanted : all;
let failed = false;
for (const name of names) {
  const file = new URL(`./${name}.ts`, import.meta.url).pathname;
  if (!existsSync(file)) {
    console.error(`bench: no benchmark named '${name}' (have: ${all.join(', ')})`);
    failed = true;
    continue;
  }
  console.log(`\n=== bench/${name}.ts ===`);
  const result = spawnSync(process.execPath, ['--import', 'tsx', file], { stdio: 'inherit' });
  if (result.status !== 0) failed = true;
}
process.exitCode = failed ? 1 : 0;
