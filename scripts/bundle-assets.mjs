// Part of `npm run build`: copies the dashboard's charting library (Chart.js's UMD build)
// into dist/, so the published package carries it and the page needs no network and no
// chart.js installed at run time.
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';

const entry = createRequire(import.meta.url).resolve('chart.js');
const target = new URL('../dist/dashboard/vendor/', import.meta.url);
mkdirSync(target, { recursive: true });
// Without its sourceMappingURL: the map is not shipped, and a link to a missing file is noise.
const code = readFileSync(join(dirname(entry), 'chart.umd.min.js'), 'utf8').replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
writeFileSync(new URL('chart.umd.min.js', target), code);
