import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DASHBOARD_CSS } from './styles.js';

/**
 * The static files the page loads, all from this package, so the page works with no network:
 * the client's ES modules, its stylesheet, and Chart.js's self-contained UMD build from the
 * package's own node_modules.
 *
 * The client is TypeScript in `client/`. In the installed package `npm run build` has compiled
 * it to `client/*.js` beside this file; run from source (tsx, tests), the `.ts` files are
 * transpiled on first request with the `typescript` dev dependency.
 */

/** A static file: its body and content type. */
export interface Asset {
  readonly body: string | Buffer;
  readonly contentType: string;
}

const CLIENT_DIR = join(dirname(fileURLToPath(import.meta.url)), 'client');
const JS = 'text/javascript; charset=utf-8';

/** Loads and caches the dashboard's assets by URL path (`/assets/...`). */
export class Assets {
  readonly #cache = new Map<string, Asset>();
  readonly #clientModules: ReadonlySet<string>;

  constructor() {
    this.#clientModules = new Set(clientModuleNames());
    if (!this.#clientModules.has('main')) {
      throw new Error(`tracks dashboard: the page's script is missing from ${CLIENT_DIR}; run 'npm run build'`);
    }
  }

  /** The client's module names (`main`, `api`, ...), each served at `/assets/client/<name>.js`. */
  get clientModules(): readonly string[] {
    return [...this.#clientModules];
  }

  /** The asset at `path`, or undefined when there is none. */
  async get(path: string): Promise<Asset | undefined> {
    const cached = this.#cache.get(path);
    if (cached !== undefined) return cached;
    const asset = await this.#load(path);
    if (asset !== undefined) this.#cache.set(path, asset);
    return asset;
  }

  async #load(path: string): Promise<Asset | undefined> {
    if (path === '/assets/dashboard.css') return { body: DASHBOARD_CSS, contentType: 'text/css; charset=utf-8' };
    if (path === '/assets/chart.umd.js') return { body: readFileSync(chartJsPath()), contentType: JS };
    const match = /^\/assets\/client\/([a-z][a-z0-9-]*)\.js$/.exec(path);
    if (match === null || !this.#clientModules.has(match[1]!)) return undefined;
    return { body: await clientModule(match[1]!), contentType: JS };
  }
}

/** The names of the client's modules (without extension), compiled or not. */
function clientModuleNames(): string[] {
  if (!existsSync(CLIENT_DIR)) return [];
  return readdirSync(CLIENT_DIR)
    .filter((f) => /^[a-z][a-z0-9-]*\.(js|ts)$/.test(f) && !f.endsWith('.d.ts'))
    .map((f) => f.replace(/\.(js|ts)$/, ''));
}

/** A client module's JavaScript: the compiled file, or the TypeScript source transpiled. */
async function clientModule(name: string): Promise<string> {
  const compiled = join(CLIENT_DIR, `${name}.js`);
  if (existsSync(compiled)) return readFileSync(compiled, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
  const source = readFileSync(join(CLIENT_DIR, `${name}.ts`), 'utf8');
  const ts = (await import('typescript')).default;
  return ts.transpileModule(source, {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ES2022, verbatimModuleSyntax: true },
    fileName: `${name}.ts`,
  }).outputText;
}

/** Chart.js's self-contained browser build, bundled with this package. */
export function chartJsPath(): string {
  // The build copies Chart.js into dist/dashboard/vendor (scripts/bundle-assets.mjs), so an
  // installed package serves its own copy; run from source, it comes from node_modules,
  // where chart.js exports only its entry points and the UMD build sits beside them.
  const bundled = fileURLToPath(new URL('./vendor/chart.umd.min.js', import.meta.url));
  if (existsSync(bundled)) return bundled;
  const entry = createRequire(import.meta.url).resolve('chart.js');
  return join(dirname(entry), 'chart.umd.min.js');
}
