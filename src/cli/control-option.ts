import { quoted } from '../text.js';
import { UsageError } from './command.js';

/** Usage text of `--control`, the option `tracks report` and `tracks dashboard` share. */
export const CONTROL_USAGE = `  --control <id=track> the baseline of a set, overriding the class's static control
                       (repeatable; an unknown set or track is an error)`;

/** `--control <id>=<track>` pairs as a Map of set id to baseline track. */
export function baselinesOf(pairs: readonly string[]): Map<string, string> {
  const baselines = new Map<string, string>();
  for (const pair of pairs) {
    // At the last '=': a set id may hold one, a track named after a method cannot (a
    // ParamTrackSet's trackName() returning one would be ambiguous either way).
    const at = pair.lastIndexOf('=');
    const [id, track] = at < 0 ? [pair, ''] : [pair.slice(0, at), pair.slice(at + 1)];
    if (id === '' || track === '') throw new UsageError(`--control is ${quoted(pair)}; write it as <trackset id>=<track>, like pricing=price_adjusted_by_0`);
    const earlier = baselines.get(id);
    if (earlier !== undefined && earlier !== track) {
      throw new UsageError(`--control names two baselines for ${quoted(id)}, ${quoted(earlier)} and ${quoted(track)}; give one`);
    }
    baselines.set(id, track);
  }
  return baselines;
}
