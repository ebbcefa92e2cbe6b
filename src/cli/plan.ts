import { sampleSize } from '../stats/sample-size.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { decimalOf, numberFlag, parse } from './parse.js';

/** The highest --cuped-correlation taken: above it a plan is a handful of users, and the covariate is the outcome, not a pre-period. */
const MAX_CORRELATION = 0.999;

const usage = `Usage: tracks plan --baseline <rate> --mde <relative> [options]

Users needed per track to detect a relative change in a conversion rate, with the
significance level split across the comparisons with control (Bonferroni), and the
days that takes at a given daily traffic.

Options:
  --baseline <rate>    today's conversion rate, e.g. 0.05 (or 5%)
  --mde <relative>     smallest relative change worth detecting, e.g. 0.1 (or 10%) for +10%
  --tracks <n>         tracks including control (default 2)
  --alpha <a>          significance level (default 0.05)
  --power <p>          chance to detect the change when it is real (default 0.8)
  --daily <users>      users entering the test per day, to estimate the days needed
  --cuped-correlation <rho>
                       plan for a CUPED analysis: the correlation, from 0 to 0.999,
                       between the metric and its pre-exposure value (e.g. 0.7); the
                       users needed shrink by a factor 1 - rho^2
  --json               print the result as JSON`;

/** `tracks plan`: how many users, and how many days, a test needs. */
export const planCommand: Command = {
  summary: 'users per track (and days) needed for a given baseline, effect, power and alpha',
  usage,
  async run(args, io) {
    const { values } = parse('plan', args, {
      baseline: { type: 'string' },
      mde: { type: 'string' },
      tracks: { type: 'string' },
      alpha: { type: 'string' },
      power: { type: 'string' },
      daily: { type: 'string' },
      'cuped-correlation': { type: 'string' },
      json: { type: 'boolean' },
    });
    if (values.baseline === undefined) throw new UsageError('--baseline is required, e.g. --baseline 0.05 for a 5% conversion rate');
    if (values.mde === undefined) throw new UsageError('--mde is required, e.g. --mde 0.1 to detect a 10% relative change');
    const tracks = numberFlag('tracks', values.tracks, 2, 2, 1000, 'whole');
    const dailyUsers = values.daily === undefined ? undefined : numberFlag('daily', values.daily, 0, 1, Number.MAX_SAFE_INTEGER, 'whole');
    const rho = values['cuped-correlation'];
    // A negative correlation reduces the variance as much as its opposite: said, not just refused.
    if (rho !== undefined && decimalOf(rho) < 0 && -decimalOf(rho) <= MAX_CORRELATION) {
      throw new UsageError(`--cuped-correlation is '${rho}'; a negative correlation helps as much as a positive one: give ${rho.slice(1)}`);
    }
    const cupedCorrelation = numberFlag('cuped-correlation', rho, 0, 0, MAX_CORRELATION);
    const input = {
      baseline: numberFlag('baseline', values.baseline, 0, 1e-9, 1 - 1e-9, 'share'),
      relativeMde: numberFlag('mde', values.mde, 0, -0.999999, 1000, 'share'),
      tracks,
      alpha: numberFlag('alpha', values.alpha, 0.05, 1e-9, 0.5),
      power: numberFlag('power', values.power, 0.8, 0.01, 0.999999),
      ...(dailyUsers === undefined ? {} : { dailyUsers }),
    };
    // Checked here too, so that the message names the flags rather than sampleSize()'s arguments.
    if (input.relativeMde === 0) throw new UsageError('--mde is 0: no number of users detects no change; give the smallest relative change worth detecting, e.g. --mde 0.1 (or -0.1 for a drop)');
    if (input.power <= input.alpha) throw new UsageError(`--power (${input.power}) must be greater than --alpha (${input.alpha}); the usual choice is --power 0.8 with --alpha 0.05`);
    const moved = input.baseline * (1 + input.relativeMde);
    if (moved <= 0 || moved >= 1) {
      throw new UsageError(`--mde ${input.relativeMde} moves --baseline ${input.baseline} to ${moved}, outside (0, 1): give a smaller --mde`);
    }
    const result = sampleSize({ ...input, cupedCorrelation });
    const cuped = values['cuped-correlation'] !== undefined;
    // With CUPED, the plan without it, for comparison.
    const plain = cuped ? sampleSize(input) : undefined;
    if (values.json) {
      const withoutCuped = plain && {
        usersPerTrack: plain.usersPerTrack,
        totalUsers: plain.totalUsers,
        ...(plain.days === undefined ? {} : { days: plain.days }),
      };
      io.stdout(JSON.stringify(plain ? { ...result, cupedCorrelation, withoutCuped } : result, null, 2));
      return 0;
    }
    const n = (x: number): string => x.toLocaleString('en-US');
    const lines = [
      `${n(result.usersPerTrack)} users per track, ${n(result.totalUsers)} in all (${tracks} tracks)`,
      `  to detect ${values.baseline!.endsWith('%') ? input.baseline : values.baseline} -> ${rateText(result.treatmentRate, input.baseline)} with power ${values.power ?? 0.8}` +
        ` at alpha ${values.alpha ?? 0.05}` +
        (result.comparisons > 1 ? ` (${result.adjustedAlpha.toPrecision(3)} per comparison, ${result.comparisons} comparisons)` : ''),
    ];
    if (result.days !== undefined) lines.push(`  about ${n(result.days)} day${result.days === 1 ? '' : 's'} at ${n(dailyUsers!)} user${dailyUsers === 1 ? '' : 's'} a day`);
    if (plain) {
      // Two significant digits: at rho 0.999 the variance left is 0.2%, not "0%".
      const share = Number(((1 - cupedCorrelation * cupedCorrelation) * 100).toPrecision(2));
      lines.push(
        `  assuming CUPED with rho=${cupedCorrelation} (correlation with the pre-exposure value): ${share}% of the variance`,
        `  without CUPED: ${n(plain.usersPerTrack)} users per track, ${n(plain.totalUsers)} in all` +
          (plain.days === undefined ? '' : `, about ${n(plain.days)} days`),
      );
    }
    io.stdout(lines.join('\n'));
    return 0;
  },
};

/**
 * The rate to detect, to 3 significant digits, or as many more as it takes to tell it from the
 * baseline and from a certainty: 0.999 -> 0.999999, not 0.999 -> 1.00.
 */
function rateText(rate: number, baseline: number): string {
  for (let digits = 3; digits < 15; digits++) {
    const shown = Number(rate.toPrecision(digits));
    if (shown !== baseline && (shown !== 1 || rate === 1) && (shown !== 0 || rate === 0)) return rate.toPrecision(digits);
  }
  return String(rate);
}
