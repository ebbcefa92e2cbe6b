import type { Command } from './command.js';
import { resume } from './resume.js';
import { stop } from './stop.js';

/** Every `tracks` command by name. Each lives in its own file under cli/. */
export const commands: Readonly<Record<string, Command>> = {
  stop,
  resume,
};
