import { buildReport, checkBaselineSets } from '../report/build-report.js';
import { readAnalysis } from '../report/read-analysis.js';
import { renderReport } from '../report/render-report.js';
import { quoted } from '../text.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { numberFlag, parse } from './parse.js';
import { ANALYSIS_FLAGS, ANALYSIS_USAGE, correctionOf, cupedOf } from './analysis-options.js';
import { baselinesOf, CONTROL_USAGE } from './control-option.js';
import { openExistingStore, STORE_USAGE } from './store-option.js';
import { outboxNote, withOutboxNote } from './outbox-note.js';
import { dimensionNameProblem } from '../model/dimensions.js';
import type { Store } from '../model/store.js';
import type { TrackSetSums } from '../model/sums.js';

const usage = `Usage: tracks report [options]

Per track set and track: users, each metric as declared in configure({ metrics }) (or
inferred), lift with its confidence interval, p-value and adjusted p-value, chance to beat
control, and the latency (p50/p95/p99) and error rate of each code path.

Comparisons are phase-aware: every stop, resume, ramp or change of the set's definition
starts a phase; users are compared within the phase of their first exposure and the phases
combined, so a change of weights or coverage cannot bias the answer (docs/statistics.md).

Options:
${STORE_USAGE}
  --trackset <id>      only this track set
  --json               print the report as JSON (documented in docs/report-json.md)
  --sequential         always-valid intervals, for teams that look every day
  --alpha <a>          significance level (default 0.05)
${ANALYSIS_USAGE}
  --phase <n>          analyse phase n of --trackset alone (1 is the first; see the phase list)
  --all-phases         also analyse each phase alone, after the combined analysis
  --by <dimension>     also break each set down by a dimension of its static dimensions()
                       (country, plan, ...): lift per segment, p adjusted across segments,
                       sample-ratio check per segment, and whether the effect differs
${CONTROL_USAGE}`;

/** `tracks report`: the answer, per track set and track. */
export const reportCommand: Command = {
  summary: 'per-track conversion, lift, p-values, chance to beat control, latency and errors',
  usage,
  async run(args, io) {
    const { values } = parse('report', args, {
      store: { type: 'string' },
      trackset: { type: 'string' },
      json: { type: 'boolean' },
      sequential: { type: 'boolean' },
      alpha: { type: 'string' },
      ...ANALYSIS_FLAGS,
      control: { type: 'string', multiple: true },
      phase: { type: 'string' },
      'all-phases': { type: 'boolean' },
      by: { type: 'string' },
    });
    const by = values.by;
    if (by !== undefined && dimensionNameProblem(by) !== undefined) {
      throw new UsageError(`--by is '${by}'; give a dimension name from the set's static dimensions(), like country or plan`);
    }
    const cuped = cupedOf(values);
    const phase = values.phase === undefined ? undefined : numberFlag('phase', values.phase, 1, 1, 1e9, 'whole');
    if (phase !== undefined && values['all-phases'] === true) {
      throw new UsageError('--phase and --all-phases ask for different things: --phase N analyses one phase, --all-phases the combined analysis and then each phase; give one of them');
    }
    if (phase !== undefined && values.trackset === undefined) {
      throw new UsageError('--phase needs --trackset <id>: phases are numbered per track set');
    }
    const alpha = numberFlag('alpha', values.alpha, 0.05, 1e-9, 0.5);
    const correction = correctionOf(values.correction);
    const baselines = baselinesOf(values.control ?? []);
    const spec = values.store ?? io.env.TRACKS_STORE;
    let store: Store;
    try {
      store = openExistingStore(values.store, io);
    } catch (error) {
      throw withOutboxNote(error, spec);
    }
    try {
      // The table has no timeline, so the per-day sums are not asked for.
      const { sums, metrics, shadow } = await readAnalysis(store, {
        ...(values.trackset === undefined ? {} : { trackSetId: values.trackset }),
        daily: false,
        cuped,
        ...(by === undefined ? {} : { by }),
      });
      const all = values.trackset === undefined || (baselines.size === 0 && sums.length > 0) ? sums : await store.summarize({ daily: false });
      if (values.trackset !== undefined && sums.length === 0) {
        const known = all.map((s) => quoted(s.trackSetId));
        throw new UsageError(
          `unknown track set ${quoted(values.trackset)}; ${known.length > 0 ? `recorded sets are ${known.join(', ')}` : 'nothing is recorded yet'}`,
        );
      }
      checkBaselineSets(all, baselines);
      if (by !== undefined) await checkDimension(store, sums, by);
      const report = buildReport(sums, {
        store: store.description,
        alpha,
        correction,
        baselines,
        metrics,
        shadow,
        sequential: values.sequential ?? false,
        cuped,
        ...(phase === undefined ? {} : { phase }),
        allPhases: values['all-phases'] ?? false,
      });
      // JSON.stringify escapes C0 controls and unpaired surrogates, not DEL and C1 (U+009B is a CSI on some terminals).
      // readAnalysis left out the breakdown of the sets that record no such dimension: said once, at the end.
      const unsegmented = by === undefined || store.readDimensions === undefined ? [] : sums.filter((set) => set.segments === undefined).map((set) => quoted(set.trackSetId));
      const note = unsegmented.length === 0 ? '' : `\n\n  (--by ${quoted(by!)}: ${unsegmented.join(', ')} record${unsegmented.length === 1 ? 's' : ''} no such dimension; not broken down)`;
      // Events still in the outbox are not in these numbers: said after the report (on stderr with --json, which stays JSON).
      const waiting = outboxNote(spec);
      if (values.json) {
        io.stdout(JSON.stringify(report, null, 2).replace(/[\u007f-\u009f]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`));
        if (waiting !== undefined) io.stderr(`tracks report: ${waiting}`);
      } else {
        io.stdout(renderReport(report) + note + (waiting === undefined ? '' : `\n\n  (${waiting})`));
      }
      return 0;
    } catch (error) {
      throw withOutboxNote(error, spec);
    } finally {
      await store.close();
    }
  },
};

/**
 * `--by` a dimension that no reported set records is a typo or the wrong set, not a set with
 * one segment "(none)": refused, naming the dimensions there are. (A store that cannot list
 * dimensions is taken at its word.)
 */
async function checkDimension(store: Store, sums: readonly TrackSetSums[], by: string): Promise<void> {
  if (store.readDimensions === undefined || sums.length === 0) return;
  const recorded = new Set<string>();
  for (const set of sums) for (const name of await store.readDimensions(set.trackSetId)) recorded.add(name);
  if (recorded.has(by)) return;
  const names = [...recorded].sort().map(quoted);
  throw new UsageError(
    `--by ${quoted(by)}: no exposure of ${sums.length === 1 ? `the set ${quoted(sums[0]!.trackSetId)}` : 'the reported sets'} records that dimension; ` +
      (names.length > 0 ? `recorded dimensions are ${names.join(', ')}` : "none records any (a set declares them with static dimensions(context))"),
  );
}
