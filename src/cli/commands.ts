import type { Command } from './command.js';

/** Every `tracks` command by name. Each lives in its own file under cli/. */
export const commands: Readonly<Record<string, Command>> = {};
