// Every TypeScript block of docs/*.md and README.md (whose illustrations test/readme.test.ts
// does not run) type-checks against the built package as a reader would paste it. A name the
// block only stands for (`queue`, your own pipeline) may stay undeclared; a tracks export used
// without its import, a misspelt option or a wrong type may not.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const root = fileURLToPath(new URL('..', import.meta.url));
const sources = [
  ...readdirSync(join(root, 'docs'))
    .filter((name) => name.endsWith('.md'))
    .map((name) => ({ doc: `docs/${name}`, pattern: /()```(?:ts|typescript)\n([\s\S]*?)```/g })),
  // Every README block, the runnable ones too: they run under tsx, which does not type-check,
  // and a reader's strict project would refuse one that only runs.
  { doc: 'README.md', pattern: /(<!-- illustration -->\s*)?```ts\n([\s\S]*?)```/g },
];
const blocks = sources.flatMap(({ doc, pattern }) => {
  const text = readFileSync(join(root, doc), 'utf8');
  return [...text.matchAll(pattern)].map((match, index) => ({
    doc,
    line: text.slice(0, match.index! + match[0].length - match[2]!.length - 3).split('\n').length, // of the code's first line
    file: join(root, `.docs-example-${doc.replace(/\W/g, '-')}-${index}.mts`),
    code: `${match[2]!}\nexport {};\n`,
  }));
});

test('docs/*.md and the README illustrations have TypeScript blocks', () => {
  assert.ok(blocks.length >= 4, `found ${blocks.length} blocks`);
});

test('every TypeScript block of docs/*.md and README.md type-checks', () => {
  // A block that augments 'tracks' (TracksRegister) changes every other block of its program, as
  // it would a reader's whole project: those blocks are checked in a program of their own.
  const augmenting = (block: (typeof blocks)[number]) => /declare module 'tracks'/.test(block.code);
  assert.deepEqual([...checkBlocks(blocks.filter((b) => !augmenting(b))), ...checkBlocks(blocks.filter(augmenting))], []);
});

/** The problems of one program holding `group`'s blocks. */
function checkBlocks(group: typeof blocks): string[] {
  const config = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), {}, { ...ts.sys, onUnRecoverableConfigFileDiagnostic: () => {} })!;
  const options = { ...config.options, noEmit: true };
  const host = ts.createCompilerHost(options);
  const byFile = new Map(group.map((block) => [block.file, block]));
  const { fileExists, readFile } = host;
  host.fileExists = (file) => byFile.has(file) || fileExists(file);
  host.readFile = (file) => byFile.get(file)?.code ?? readFile(file);
  const program = ts.createProgram([...byFile.keys()], options, host);
  // The package's exports, resolved as the blocks resolve 'tracks' (dist, built by npm test).
  const checker = program.getTypeChecker();
  const exported = new Set<string>();
  for (const file of program.getSourceFiles()) {
    if (!file.fileName.startsWith(join(root, 'dist')) || !/(\/index|\/integrations\/\w+)\.d\.ts$/.test(file.fileName)) continue;
    const module = checker.getSymbolAtLocation(file);
    if (module !== undefined) for (const symbol of checker.getExportsOfModule(module)) exported.add(symbol.name);
  }
  assert.ok(exported.has('configure'), 'the blocks resolve tracks to dist: run npm run build first');
  const problems: string[] = [];
  for (const block of group) {
    const source = program.getSourceFile(block.file)!;
    for (const diagnostic of [...program.getSyntacticDiagnostics(source), ...program.getSemanticDiagnostics(source)]) {
      const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n');
      const missing = /^Cannot find name '(\w+)'/.exec(message)?.[1];
      if (missing !== undefined && !exported.has(missing)) continue; // a stand-in the reader supplies
      const line = source.getLineAndCharacterOfPosition(diagnostic.start ?? 0).line;
      problems.push(`${block.doc} line ${block.line + line}: ${message}`);
    }
  }
  return problems;
}
