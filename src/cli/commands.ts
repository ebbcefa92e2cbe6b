import type { Command } from './command.js';
import { dashboardCommand } from './dashboard.js';
import { planCommand } from './plan.js';
import { reportCommand } from './report.js';
import { simulateCommand } from './simulate.js';
import { promote } from './promote.js';
import { ramp } from './ramp.js';
import { resume } from './resume.js';
import { stop } from './stop.js';

/** Every `tracks` command by name. Each lives in its own file under cli/. */
export const commands: Readonly<Record<string, Command>> = {
  report: reportCommand,
  plan: planCommand,
  simulate: simulateCommand,
  stop,
  resume,
  ramp,
  promote,
  dashboard: dashboardCommand,
};
