import { isUsableWeight, weightFix } from '../core/definition.js';
import { escapeControl } from '../text.js';
import { UsageError } from './command.js';
import { decimalOf } from './parse.js';

/**
 * `short=1,long=3`: weights by track name, as `tracks ramp --weights` and `tracks simulate
 * --weights` take them, so that a simulated change reads as the ramp that would make it.
 */
export function weightsOf(text: string): Map<string, number> {
  const weights = new Map<string, number>();
  for (const part of text.split(',')) {
    const at = part.lastIndexOf('=');
    if (at <= 0) throw new UsageError(`--weights has '${escapeControl(part)}'; give track=weight pairs separated by commas, weights in decimal digits, e.g. --weights short=1,long=3`);
    const track = part.slice(0, at).trim();
    if (weights.has(track)) throw new UsageError(`--weights names '${escapeControl(track)}' twice`);
    weights.set(track, weightOf('weights', part, part.slice(at + 1)));
  }
  return weights;
}

/** The weight `text` of the item `part` of `--<flag>`: 0, or from 0.000001 to 1,000,000. */
export function weightOf(flag: string, given: string, text: string): number {
  const weight = decimalOf(text.trim());
  // Echoed in the messages: escaped, so no control character reaches the terminal.
  const part = escapeControl(given);
  const track = part.slice(0, part.lastIndexOf('=')).trim();
  if (weight < 0) {
    throw new UsageError(`--${flag} has '${part}': a weight cannot be negative; give 0 to send a track no one, e.g. --${flag} ${track}=0`);
  }
  if (Number.isNaN(weight)) {
    throw new UsageError(`--${flag} has '${part}'; give the weight in decimal digits, e.g. --${flag} ${track}=1`);
  }
  if (!isUsableWeight(weight)) throw new UsageError(`--${flag} has '${part}'; ${weightFix(weight, 'give')}`);
  return weight;
}
