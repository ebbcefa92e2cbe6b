// The codebase's shape, enforced: a folder per layer, data flowing one way
// (core -> recording -> stores -> stats -> report -> cli/dashboard), the types two layers share
// living below both (src/model), and src/index.ts being the public API and nothing else.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

const src = fileURLToPath(new URL('../src/', import.meta.url));

/** What each layer may import: other layers of src, and packages. Node built-ins are always allowed. */
const ALLOWED: Readonly<Record<string, { layers: readonly string[]; packages: readonly string[] }>> = {
  // How values read in messages and terminals: below everything, imports nothing.
  text: { layers: [], packages: [] },
  errors: { layers: [], packages: [] },
  core: { layers: ['text', 'errors'], packages: [] },
  model: { layers: ['text', 'errors', 'core'], packages: [] },
  recording: { layers: ['text', 'errors', 'core', 'model'], packages: [] },
  // tsx: only when run from the TypeScript sources (this repository's tests), a worker thread registers it.
  stores: { layers: ['text', 'errors', 'core', 'model'], packages: ['better-sqlite3', 'pg', 'pg-copy-streams', 'tsx/esm/api'] },
  stats: { layers: ['text', 'errors'], packages: ['@stdlib/'] },
  report: { layers: ['text', 'errors', 'core', 'model', 'stats'], packages: [] },
  setup: { layers: ['text', 'errors', 'core', 'model', 'recording', 'stores'], packages: [] },
  // typescript: only when run from the sources, to compile the page's client on the fly.
  dashboard: { layers: ['text', 'errors', 'core', 'model', 'stores', 'stats', 'report'], packages: ['chart.js', 'typescript'] },
  cli: { layers: ['text', 'errors', 'core', 'model', 'stores', 'stats', 'report', 'dashboard'], packages: [] },
  // Framework adapters: the framework is an optional peer dependency, imported for its types.
  integrations: { layers: ['text', 'errors', 'core', 'model', 'recording', 'setup'], packages: ['express', 'fastify', 'hono', '@openfeature/server-sdk'] },
  index: { layers: ['text', 'errors', 'core', 'model', 'recording', 'stores', 'stats', 'report', 'setup'], packages: [] },
};

function sources(folder: string): string[] {
  return readdirSync(folder).flatMap((name) => {
    const path = join(folder, name);
    if (statSync(path).isDirectory()) return sources(path);
    return /\.ts$/.test(name) ? [path] : [];
  });
}

/** The layer of a file under src: its first folder, or the file's own name at the top. */
function layerOf(path: string): string {
  const parts = relative(src, path).split(sep);
  return parts.length === 1 ? parts[0]!.replace(/\.[jt]s$/, '') : parts[0]!;
}

/** Every module a file imports or re-exports, statically or with import(). */
function importsOf(source: string): string[] {
  const found: string[] = [];
  for (const m of source.matchAll(/^\s*(?:import|export)\s[^;]*?\sfrom\s+'([^']+)'/gm)) found.push(m[1]!);
  for (const m of source.matchAll(/^\s*import\s+'([^']+)'/gm)) found.push(m[1]!);
  for (const m of source.matchAll(/\bimport\(\s*'([^']+)'\s*\)/g)) found.push(m[1]!);
  for (const m of source.matchAll(/\brequire\(\s*'([^']+)'\s*\)/g)) found.push(m[1]!);
  return found;
}

test('each layer imports only the layers below it, and only the packages it is allowed', () => {
  const problems: string[] = [];
  for (const file of sources(src)) {
    const layer = layerOf(file);
    const allowed = ALLOWED[layer];
    if (allowed === undefined) {
      problems.push(`${relative(src, file)}: the layer '${layer}' is not in this test's table; add it with its allowed imports`);
      continue;
    }
    for (const spec of importsOf(readFileSync(file, 'utf8'))) {
      if (spec.startsWith('node:')) continue;
      if (spec.startsWith('.')) {
        const target = layerOf(join(file, '..', spec));
        if (target !== layer && !allowed.layers.includes(target)) problems.push(`${relative(src, file)} (${layer}) imports ${spec} (${target})`);
      } else if (!allowed.packages.some((p) => spec === p || spec.startsWith(p.endsWith('/') ? p : `${p}/`))) {
        problems.push(`${relative(src, file)} (${layer}) imports the package ${spec}`);
      }
    }
  }
  assert.deepEqual(problems, []);
});

test('src/index.ts is the public API and nothing else: only comments and exports', () => {
  const source = readFileSync(join(src, 'index.ts'), 'utf8');
  const code = source
    .replace(/\/\*[\s\S]*?\*\//g, '')
    .replace(/^\s*\/\/.*$/gm, '')
    .replace(/export\s+(type\s+)?(\*|\{[^}]*\})\s+from\s+'[^']+';/g, '')
    .trim();
  assert.equal(code, '');
});

test('every function, class and type the public API and its subpaths export has a TSDoc comment with an example', () => {
  // The entry points package.json exports: src/index.ts and the integrations.
  const manifest = JSON.parse(readFileSync(join(src, '..', 'package.json'), 'utf8')) as { exports: Record<string, string | { default: string }> };
  const entries = Object.values(manifest.exports)
    .flatMap((target) => (typeof target === 'string' ? [] : [target.default]))
    .map((built) => join(src, built.replace(/^\.\/dist\//, '').replace(/\.js$/, '.ts')));
  assert.ok(entries.length >= 5, `entry points: ${entries.join(', ')}`);
  const missing: string[] = [];
  /** The TSDoc problem of `name` as `file` declares it, following re-exports to where it is declared. */
  const problemOf = (file: string, name: string, seen = new Set<string>()): string | undefined => {
    if (seen.has(file)) return `${name} (${relative(src, file)}): re-exported in a cycle`;
    seen.add(file);
    const source = readFileSync(file, 'utf8');
    const declaration = new RegExp(`/\\*\\*((?:(?!\\*/)[\\s\\S])*)\\*/\\s*export\\s+(?:async\\s+|abstract\\s+)?(?:function|class|const|interface|type)\\s+${name}\\b`).exec(source);
    if (declaration !== null) return /@example/.test(declaration[1]!) ? undefined : `${name} (${relative(src, file)}): no @example`;
    const reexport = new RegExp(`export\\s*(?:type\\s*)?\\{[^}]*\\b${name}\\b[^}]*\\}\\s*from\\s*'([^']+)'`).exec(source);
    if (reexport !== null) return problemOf(join(file, '..', reexport[1]!.replace(/\.js$/, '.ts')), name, seen);
    return `${name} (${relative(src, file)}): no TSDoc comment`;
  };
  for (const entry of entries) {
    const source = readFileSync(entry, 'utf8');
    // Re-exported, values (`export { a }`) and types (`export type { A }`) alike.
    for (const m of source.matchAll(/^export\s+(?:type\s+)?\{([^}]*)\}\s+from\s+'([^']+)';/gm)) {
      for (const raw of m[1]!.split(',')) {
        const name = raw.trim().replace(/^type\s+/, '').split(/\s+as\s+/)[0]!;
        if (name === '') continue;
        const problem = problemOf(join(entry, '..', m[2]!.replace(/\.js$/, '.ts')), name);
        if (problem !== undefined) missing.push(problem);
      }
    }
    // Declared in the entry point itself (the integrations).
    for (const m of source.matchAll(/^export\s+(?:async\s+|abstract\s+)?(?:function|class|const|interface|type)\s+(\w+)/gm)) {
      const problem = problemOf(entry, m[1]!);
      if (problem !== undefined) missing.push(problem);
    }
  }
  assert.deepEqual(missing, []);
});

test('the public API exports every statistic of src/stats, as docs/statistics.md promises ("all of it is exported from tracks")', async () => {
  // A tester found summarize (a documented method), SMALLEST_PROBABILITY (the documented floor
  // of every p-value) and the distributions importable from src/stats only.
  const stats = (await import('../src/stats/index.js')) as Record<string, unknown>;
  const api = (await import('../src/index.js')) as Record<string, unknown>;
  const statsTypes = readFileSync(join(src, 'stats', 'index.ts'), 'utf8');
  const apiSource = readFileSync(join(src, 'index.ts'), 'utf8');
  assert.deepEqual(Object.keys(stats).filter((name) => api[name] !== stats[name]), []);
  const typeNames = (source: string) => [...source.matchAll(/^export\s+type\s+\{([^}]*)\}/gm)].flatMap((m) => m[1]!.split(',').map((n) => n.trim()).filter((n) => n !== ''));
  const exported = new Set(typeNames(apiSource));
  assert.deepEqual(typeNames(statsTypes).filter((name) => !exported.has(name)), []);
});
