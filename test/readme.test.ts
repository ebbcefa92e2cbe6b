// Every TypeScript example in README.md runs as written: each ```ts block is saved as a
// module at the repository root (so `import ... from 'tracks'` and './examples/...' resolve
// as they would for a reader) and run in its own process. A block preceded by the comment
// `<!-- illustration -->` needs a server we do not have: test/docs.test.ts type-checks it instead.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const root = fileURLToPath(new URL('..', import.meta.url));
const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
const blocks = [...readme.matchAll(/(<!-- illustration -->\s*)?```ts\n([\s\S]*?)```/g)]
  .map((match, index) => ({ index, illustration: match[1] !== undefined, code: match[2]!, line: readme.slice(0, match.index).split('\n').length + 1 }))
  .filter((block) => !block.illustration);
const run = promisify(execFile);

test('README.md has runnable examples', () => {
  assert.ok(blocks.length >= 9, `found ${blocks.length} blocks`);
});

for (const block of blocks) {
  test(`README.md example at line ${block.line} runs as written`, async () => {
    const file = `${root}.readme-example-${block.index}.mts`;
    writeFileSync(file, block.code);
    try {
      await run(process.execPath, ['--import', 'tsx', file], { cwd: root, timeout: 60_000 });
    } catch (error) {
      const { stderr = '', stdout = '' } = error as { stderr?: string; stdout?: string };
      assert.fail(`the example at README.md line ${block.line} failed:\n${stderr || stdout}`);
    } finally {
      rmSync(file, { force: true });
    }
  });
}
