import { readFileSync } from 'node:fs';
import { escapeControl, quoted } from '../text.js';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { MultiTrackSet } from '../core/multi-track-set.js';
import { TrackSet } from '../core/track-set.js';
import type { TrackSetClass } from '../core/track-set.js';
import { definitionOf } from '../core/track-set.js';
import { simulateSplit } from '../report/simulate-split.js';
import type { ProposedChange, Simulation, SplitRow } from '../report/simulate-split.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { numberFlag, parse } from './parse.js';
import { weightOf, weightsOf } from './weights-option.js';

const usage = `Usage: tracks simulate <module> [options]

Loads your track set definitions from a module (its exported track sets, and the sets of
its exported MultiTrackSets) and shows how a list of keys splits across their tracks, the
sample-ratio check, and, for a proposed change, exactly what share of keys would move and
where to. Eligibility rules are not applied. The module is imported, so its top-level code
runs: point it at a module that only defines track sets, not at a server's entry file.

Options:
  --keys <file>          one key per line, a key repeated counted once, as the user it is
                         (default: --count synthetic keys)
  --count <n>            synthetic keys user-1 .. user-n (default 100000)
  --trackset <id>        only this track set
  --weights <t=w,...>    proposed weights, e.g. long=2,short=1, as 'tracks ramp --weights'
                         takes them (the baseline of a set that is not sticky keeps a weight
                         above 0: every phase compares its tracks with it)
  --add-track <t[=w]>    proposed new track (repeatable; weight defaults to 1)
  --remove-track <t>     proposed removal (repeatable)
  --coverage <share>     proposed coverage, 0 to 1 or a percentage (as tracks ramp takes it)
  --json                 print the simulation as JSON

A TypeScript module needs a loader: node --import tsx node_modules/.bin/tracks simulate ...`;

/** `tracks simulate`: the split of keys, and what a proposed change would move. */
export const simulateCommand: Command = {
  summary: 'how keys split across tracks, and exactly which would move under a proposed change',
  usage,
  async run(args, io) {
    const { values, positionals } = parse(
      'simulate',
      args,
      {
        keys: { type: 'string' },
        count: { type: 'string' },
        trackset: { type: 'string' },
        weights: { type: 'string' },
        'add-track': { type: 'string', multiple: true },
        'remove-track': { type: 'string', multiple: true },
        coverage: { type: 'string' },
        json: { type: 'boolean' },
      },
      true,
    );
    const [modulePath, extra] = positionals;
    if (modulePath === undefined) throw new UsageError('give the module that defines your track sets, e.g. tracks simulate ./dist/tracks.js');
    if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'; give one module`);
    if (values.keys !== undefined && values.count !== undefined) {
      throw new UsageError('--keys and --count are both given; give --keys for your own keys, or --count for that many synthetic ones');
    }
    const keys = values.keys !== undefined ? readKeys(values.keys) : syntheticKeys(numberFlag('count', values.count, 100_000, 1, 10_000_000, 'whole'));
    const change = changeOf(values);
    let sets = await trackSetsIn(modulePath);
    if (values.trackset !== undefined) {
      const all = sets;
      sets = sets.filter((s) => definitionOf(s).id === values.trackset);
      if (sets.length === 0) {
        const ids = [...new Set(all.map((s) => definitionOf(s).id))];
        throw new UsageError(`no track set with id '${values.trackset}' in ${modulePath}${ids.length > 0 ? `; its sets are ${ids.map((id) => `'${id}'`).join(', ')}` : ''}`);
      }
    } else if (change !== undefined && sets.length > 1) {
      throw new UsageError('a proposed change applies to one track set; add --trackset <id>');
    }
    const simulations = sets.map((set) => simulateSplit(set as unknown as TrackSetClass, keys, change));
    io.stdout(values.json ? JSON.stringify(simulations, null, 2) : simulations.map(render).join('\n\n'));
    return 0;
  },
};

async function trackSetsIn(path: string): Promise<(typeof TrackSet)[]> {
  let module: Record<string, unknown>;
  try {
    module = (await import(pathToFileURL(resolve(path)).href)) as Record<string, unknown>;
  } catch (error) {
    const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
    // Node cannot import TypeScript by itself: say how to run the CLI so that it can.
    const hint = /\.[cm]?tsx?$/.test(path) && /Unknown file extension/.test(reason ?? '') ? '; for a TypeScript module run node --import tsx node_modules/.bin/tracks simulate ... (or compile it first)' : '';
    throw new UsageError(`cannot load ${path}: ${reason}${hint}`);
  }
  const exported = Object.values(module).filter((value): value is abstract new (...args: never[]) => unknown => typeof value === 'function');
  const sets = exported.filter((value): value is typeof TrackSet => value.prototype instanceof TrackSet);
  // A MultiTrackSet's sets count too, when the module exports only the MultiTrackSet.
  for (const multi of exported) {
    if (!(multi.prototype instanceof MultiTrackSet)) continue;
    for (const set of (multi as unknown as typeof MultiTrackSet).trackSets ?? []) {
      const cls = set as unknown as typeof TrackSet;
      if (!sets.includes(cls)) sets.push(cls);
    }
  }
  // Abstract intermediate classes (no id) are skipped; concrete ones are validated as on first use.
  const concrete = sets.filter((s) => typeof (s as { id?: unknown }).id === 'string');
  if (concrete.length === 0) throw new UsageError(`${path} exports no track set classes`);
  return concrete;
}

function readKeys(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    throw new UsageError(`cannot read keys from ${file}; give a file with one key per line`);
  }
  // Once each: a file of ids taken from logs repeats users, who would weigh in the split and
  // the sample-ratio check once per line.
  const keys = [...new Set(text.split(/\r?\n/).filter((line) => line !== ''))];
  if (keys.length === 0) throw new UsageError(`${file} has no keys; put one key per line`);
  return keys;
}

function syntheticKeys(count: number): string[] {
  return Array.from({ length: count }, (_, i) => `user-${i + 1}`);
}

function changeOf(values: {
  weights?: string | undefined;
  'add-track'?: string[] | undefined;
  'remove-track'?: string[] | undefined;
  coverage?: string | undefined;
}): ProposedChange | undefined {
  const change: { weights?: Map<string, number>; addTracks?: Map<string, number>; removeTracks?: string[]; coverage?: number } = {};
  if (values.weights !== undefined) change.weights = weightsOf(values.weights);
  if (values['add-track'] !== undefined) change.addTracks = addedTracks(values['add-track']);
  if (values['remove-track'] !== undefined) change.removeTracks = values['remove-track'];
  if (values.coverage !== undefined) change.coverage = numberFlag('coverage', values.coverage, 1, 0, 1, 'share');
  return Object.keys(change).length === 0 ? undefined : change;
}

/** `--add-track t` or `--add-track t=w`, repeated: new tracks by name, of weight 1 unless given. */
function addedTracks(items: readonly string[]): Map<string, number> {
  const out = new Map<string, number>();
  for (const item of items) {
    const at = item.lastIndexOf('=');
    const name = at < 0 ? item : item.slice(0, at);
    if (name === '') throw new UsageError(`--add-track item ${quoted(item)} must look like name or name=weight`);
    out.set(name, at < 0 ? 1 : weightOf('add-track', item, item.slice(at + 1)));
  }
  return out;
}

function render(sim: Simulation): string {
  // Names come from the module and the flags: escaped, so none can steer the terminal.
  const lines = [`${escapeControl(sim.trackSetId)}: ${keysText(sim.keys)}` + (sim.srmPValue === null ? '' : `, sample-ratio check p = ${sim.srmPValue.toPrecision(2)}`)];
  lines.push(...splitTable(sim.split));
  const change = sim.change;
  if (change) {
    // Keys that only enter or leave coverage run the same code path: said apart, not counted as moved.
    const inOrOut = change.coverageOnly.length === 0 ? '' : `; ${pct(change.coverageOnlyShare)} stay on their track and only enter or leave the test (coverage)`;
    lines.push('', `proposed change moves ${pct(change.movedShare)} of keys to another track (expected minimum for these shares: ${pct(change.minimumShare)})${inOrOut}`);
    lines.push(...splitTable(change.split));
    for (const move of change.moves) lines.push(`  ${escapeControl(move.from)} -> ${escapeControl(move.to)}: ${keysText(move.keys)} (${pct(move.share)})`);
    for (const move of change.coverageOnly) {
      const way = move.to.endsWith(' (not covered)') ? 'leave the test' : 'enter the test';
      lines.push(`  ${escapeControl(move.from)} -> ${escapeControl(move.to)}: ${keysText(move.keys)} (${pct(move.share)}), same track, ${way}`);
    }
  }
  return lines.join('\n');
}

function keysText(n: number): string {
  return `${n.toLocaleString('en-US')} key${n === 1 ? '' : 's'}`;
}

function splitTable(rows: readonly SplitRow[]): string[] {
  const names = rows.map((r) => escapeControl(r.track));
  const width = Math.max(5, ...names.map((name) => name.length));
  return [
    `  ${'track'.padEnd(width)}  ${'keys'.padStart(10)}  ${'share'.padStart(7)}  ${'expected'.padStart(8)}`,
    ...rows.map((r, i) => `  ${names[i]!.padEnd(width)}  ${r.keys.toLocaleString('en-US').padStart(10)}  ${pct(r.share).padStart(7)}  ${pct(r.expectedShare).padStart(8)}`),
  ];
}

function pct(x: number): string {
  return `${(x * 100).toFixed(2)}%`;
}
