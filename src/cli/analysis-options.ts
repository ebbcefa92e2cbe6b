import type { CupedOption } from '../report/read-analysis.js';
import { UsageError } from './command.js';
import { numberFlag } from './parse.js';

/** Usage text of the analysis flags `tracks report` and `tracks dashboard` share. */
export const ANALYSIS_USAGE = `  --correction <m>     holm (default) or bh (Benjamini-Hochberg)
  --no-cuped           compare unadjusted (by default sum, count, mean and conversion
                       metrics are adjusted for each user's history before exposure: CUPED)
  --cuped-window <d>   days of history before exposure CUPED reads (default 14; a metric's
                       own cuped.windowDays wins)`;

/** The parse specs of those flags, for `parse()`. */
export const ANALYSIS_FLAGS = {
  correction: { type: 'string' },
  'no-cuped': { type: 'boolean' },
  'cuped-window': { type: 'string' },
} as const;

/** `--no-cuped` / `--cuped-window <days>` as the report's `cuped` option. */
export function cupedOf(values: { readonly 'no-cuped'?: boolean | undefined; readonly 'cuped-window'?: string | undefined }): CupedOption {
  if (values['no-cuped'] && values['cuped-window'] !== undefined) throw new UsageError('--no-cuped and --cuped-window contradict each other; give one');
  return values['no-cuped'] ? false : { windowDays: numberFlag('cuped-window', values['cuped-window'], 14, 0.1, 366) };
}

/** `--correction holm|bh`. */
export function correctionOf(value: string | undefined): 'holm' | 'benjamini-hochberg' {
  if (value === undefined || value === 'holm') return 'holm';
  if (value === 'bh' || value === 'benjamini-hochberg') return 'benjamini-hochberg';
  throw new UsageError(`--correction is '${value}'; use holm or bh`);
}
