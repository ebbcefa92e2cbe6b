import { parseArgs } from 'node:util';
import type { ParseArgsConfig } from 'node:util';
import { nearestName } from '../core/suggest.js';
import { UsageError } from './command.js';
import { escapeControl } from '../text.js';

type Options = NonNullable<ParseArgsConfig['options']>;

/** `parseArgs` with strict checking, its errors turned into one-line usage errors. */
type Parsed<O extends Options> = ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: true }>>;

export function parse<O extends Options>(command: string, args: readonly string[], options: O, allowPositionals = false): Parsed<O> {
  try {
    const parsed = parseArgs({ args: withNegativeValues(args, options), options, strict: true, allowPositionals: allowPositionals as true, tokens: true });
    assertGivenOnce(command, parsed.tokens, options);
    return parsed as Parsed<O>;
  } catch (error) {
    throw error instanceof UsageError ? error : usageErrorOf(error, command, Object.keys(options));
  }
}

/**
 * A flag that takes one value, given twice, is an error: parseArgs keeps the last, so
 * `--store a.db --store b.db` would read b.db and drop a.db without a word. Flags that may
 * repeat (`multiple`) and switches are left alone. `tokens` are parseArgs' (`tokens: true`).
 */
export function assertGivenOnce(command: string, tokens: readonly { kind: string; name?: string; value?: string | undefined }[] | undefined, options: Options): void {
  const seen = new Map<string, string>();
  for (const token of tokens ?? []) {
    if (token.kind !== 'option' || token.name === undefined) continue;
    const option = options[token.name];
    if (option?.type !== 'string' || option.multiple === true) continue;
    const before = seen.get(token.name);
    const value = token.value ?? '';
    if (before !== undefined) {
      throw new UsageError(`--${token.name} is given twice ('${escapeControl(before)}', then '${escapeControl(value)}'); give it once; see 'tracks ${command} --help'`);
    }
    seen.set(token.name, value);
  }
}

/**
 * A `parseArgs` error as a one-line usage error. Node's advice for a positional argument that
 * starts with '-' is cut: it quotes the argument with an unbalanced quote, and no command of
 * tracks takes such a positional. An unknown option close to one of `known` (the command's
 * option names) is answered with it, as configure() answers a misspelt option.
 */
export function usageErrorOf(error: unknown, command: string, known: readonly string[] = []): UsageError {
  const message = error instanceof Error ? error.message.split('\n')[0]! : String(error);
  // `--trackset --json`: a flag that takes a value, followed by another flag.
  const valueless = /^Option '(-[^' ]+)[^']*' argument is ambiguous/.exec(message)?.[1];
  if (valueless !== undefined) {
    return new UsageError(`${valueless} needs a value, and the next argument is another option (a value starting with '-' is written ${valueless}=-x); see 'tracks ${command} --help'`);
  }
  // Node's own wording, said in ours: what is wrong, then what to do.
  const missing = /^Option '(-[^' ]+)[^']*' argument missing/.exec(message)?.[1];
  if (missing !== undefined) return new UsageError(`${missing} needs a value, e.g. ${missing}=x or ${missing} x; see 'tracks ${command} --help'`);
  const unexpected = /^Unexpected argument '(.*)'\. This command does not take positional arguments/.exec(message)?.[1];
  if (unexpected !== undefined) {
    return new UsageError(`unexpected argument '${escapeControl(unexpected)}': tracks ${command} takes no such argument (a value goes right after its option, --name value; quote one with spaces); see 'tracks ${command} --help'`);
  }
  const plain = message.replace(/^Unknown option/, 'unknown option').replace(/\. To specify a positional argument starting with a '-'.*$/, '');
  const given = /^unknown option '--?([^']+)'/.exec(plain)?.[1];
  const near = given === undefined || given.length <= 2 ? undefined : nearestName(given, known);
  return new UsageError(`${plain}; ${near === undefined ? '' : `did you mean '--${near}'? `}see 'tracks ${command} --help'`);
}

/**
 * A number flag, checked: plain decimal digits (a whole number for `'whole'`), within [min, max].
 * Number() alone would take '' or ' ' as 0, '0x10' as 16, '1e3' as 1000 and 'Infinity', and
 * quietly run with a value that is most likely a typo.
 */
export function numberFlag(name: string, value: string | undefined, fallback: number, min: number, max: number, kind: 'number' | 'whole' | 'share' = 'number'): number {
  if (value === undefined) return fallback;
  // A share may be given as a percentage (5% for 0.05), as tracks ramp --coverage takes it.
  const percent = kind === 'share' && value.endsWith('%');
  const n = percent ? decimalOf(value.slice(0, -1)) / 100 : decimalOf(value, kind === 'whole' ? 'whole' : 'number');
  if (!(n >= min && n <= max)) {
    const what = kind === 'whole' ? 'whole number' : kind === 'share' ? 'number (or a percentage)' : 'number';
    throw new UsageError(`--${name} is '${escapeControl(value)}'; give a ${what} from ${plain(min)} to ${plain(max)}, in decimal digits`);
  }
  return n;
}

/** `text` as a plain decimal number (digits, an optional minus and point; digits alone when whole), or NaN for anything else. */
export function decimalOf(text: string, kind: 'number' | 'whole' = 'number'): number {
  const pattern = kind === 'whole' ? /^\d+$/ : /^-?(\d+\.?\d*|\.\d+)$/;
  const n = pattern.test(text) ? Number(text) : Number.NaN;
  return Number.isFinite(n) ? n : Number.NaN;
}

/** A bound as the user would type it: 0.000000001, not 1e-9 (which the flag refuses). */
function plain(n: number): string {
  return n.toLocaleString('en-US', { useGrouping: false, maximumFractionDigits: 20 });
}

/**
 * `--mde -0.1` as `--mde=-0.1`: parseArgs reads a value that starts with '-' as an option (and
 * calls it ambiguous), though a negative number after a flag that takes a value is that value.
 */
function withNegativeValues(args: readonly string[], options: Options): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') return [...out, ...args.slice(i)]; // the rest is positional, as written
    const next = args[i + 1];
    const name = arg.startsWith('--') && !arg.includes('=') ? arg.slice(2) : undefined;
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-(\d|\.\d)/.test(next)) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}
