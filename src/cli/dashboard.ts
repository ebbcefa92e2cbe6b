import { DEFAULT_PORT, startDashboard } from '../dashboard/dashboard-server.js';
import { isLoopbackHost } from '../dashboard/security.js';
import type { Command } from './command.js';
import { UsageError } from './command.js';
import { checkBaselineSets } from '../report/build-report.js';
import { ANALYSIS_FLAGS, ANALYSIS_USAGE, correctionOf, cupedOf } from './analysis-options.js';
import { baselinesOf, CONTROL_USAGE } from './control-option.js';
import { numberFlag, parse } from './parse.js';
import { openExistingStore, STORE_USAGE } from './store-option.js';
import { outboxNote } from './outbox-note.js';
import { codeOf, messageOf } from '../errors.js';
import type { Store } from '../model/store.js';

const usage = `Usage: tracks dashboard [options]

Serves a web page with every track set at a glance: status, users and warnings; per set,
the report's table, conversion and lift-over-time charts, latency and errors per track,
its phases, and Stop/Resume/Ramp buttons; for a shadow set, each candidate's mismatches and
latency, and a Promote button (as 'tracks promote'). Reads the same report as 'tracks report'.

Options:
${STORE_USAGE}
  --host <address>     address to listen on (default 127.0.0.1; others need --token)
  --port <n>           port (default ${DEFAULT_PORT}; 0 picks a free one)
  --token <secret>     require this secret on every request (default: $TRACKS_DASHBOARD_TOKEN)
${CONTROL_USAGE}
  --sequential         always-valid intervals, as in 'tracks report --sequential'
  --alpha <a>          significance level (default 0.05)
${ANALYSIS_USAGE}`;

/** `tracks dashboard`: the report in a browser, served until Ctrl-C. */
export const dashboardCommand: Command = {
  summary: 'serve a web page with every test, its charts, phases and Stop/Resume/Ramp buttons',
  usage,
  async run(args, io) {
    const { values } = parse('dashboard', args, {
      store: { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      token: { type: 'string' },
      sequential: { type: 'boolean' },
      alpha: { type: 'string' },
      ...ANALYSIS_FLAGS,
      control: { type: 'string', multiple: true },
    });
    const baselines = baselinesOf(values.control ?? []);
    const host = values.host ?? '127.0.0.1';
    if (host.trim() === '') throw new UsageError('--host is empty; give an address such as 127.0.0.1');
    const token = values.token ?? (io.env.TRACKS_DASHBOARD_TOKEN || undefined);
    if (!isLoopbackHost(host) && token === undefined) {
      throw new UsageError(`--host ${host} would expose the dashboard beyond this machine; add --token <secret> (every request then needs it)`);
    }
    const port = numberFlag('port', values.port, DEFAULT_PORT, 0, 65535, 'whole');
    const alpha = numberFlag('alpha', values.alpha, 0.05, 1e-9, 0.5);
    const correction = correctionOf(values.correction);
    const cuped = cupedOf(values);

    const store = openExistingStore(values.store, io);
    let dashboard;
    try {
      // A file that is not a store (or a server that refuses us) is said now, as `tracks report`
      // says it, not as a page whose every request fails; a store with no tracks data yet is
      // served (the page says so, and shows the data once processes record).
      await store.readControls();
      if (baselines.size > 0) checkBaselineSets(await store.summarize({ daily: false }), baselines);
      dashboard = await startDashboard({
        store,
        host,
        port,
        ...(token === undefined ? {} : { token }),
        report: { alpha, sequential: values.sequential ?? false, baselines, correction, cuped },
      });
    } catch (error) {
      await store.close();
      throw error;
    }
    // Listening for Ctrl-C and SIGTERM from the moment the address is printed: a signal that
    // came during the checks below would otherwise end the process unhandled.
    const stopped = new Promise<void>((resolve) => {
      const stop = () => {
        process.removeListener('SIGINT', stop);
        process.removeListener('SIGTERM', stop);
        resolve();
      };
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
    io.stdout(`tracks dashboard: ${dashboard.openUrl} (${store.description}); Ctrl-C to stop`);
    // Said once at the start: the page shows the store, and events in the outbox are not in it yet.
    const waiting = outboxNote(values.store ?? io.env.TRACKS_STORE);
    if (waiting !== undefined) io.stdout(`tracks dashboard: ${waiting}`);
    // A store with no tracks data (a mistyped ?schema=, a file no process records to yet) is
    // served, but said here too, where the command was typed, not only on the page.
    const empty = await noDataMessage(store);
    if (empty !== undefined) io.stderr(`tracks dashboard: ${empty}; the page shows its data once processes record to it`);
    await stopped;
    await dashboard.close();
    return 0;
  },
};

/**
 * What the store says when it holds no tracks data it can read (none yet, or a newer schema),
 * else undefined. Asks for one set that does not exist: a store with data answers at once.
 */
async function noDataMessage(store: Store): Promise<string | undefined> {
  try {
    await store.summarize({ trackSetId: 'tracks-dashboard-start', daily: false });
    return undefined;
  } catch (error) {
    const code = codeOf(error);
    return code === 'TRACKS_NO_DATA' || code === 'TRACKS_SCHEMA' ? messageOf(error) : undefined;
  }
}
