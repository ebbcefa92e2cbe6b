#!/usr/bin/env node
// The `tracks` executable: runs the command line on this process's arguments.
import { messageOf } from '../errors.js';
import { runCli } from './run-cli.js';

let finished = false;

// A reader that stops early (`tracks report --json | head`) closes the pipe: the output is
// not wanted any more, which is no error of ours. Any other failure to write it (a full disk)
// is said in one line, not as a stack.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  finished = true;
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  process.stderr.write(`tracks: cannot write the output: ${messageOf(error)}\n`);
  process.exit(1);
});

// Node ends a process whose event loop emptied while its top-level await still waits with code
// 13 and no word: only a promise that never settles does that here, in a module that `tracks
// simulate` imports (a top-level await that never finishes).
process.on('exit', () => {
  // (Node passes 0 to the listener and sets exitCode to 13 itself.)
  if (finished || process.exitCode !== 13) return;
  process.stderr.write('tracks: the command never finished: a module it imported awaits something that never settles (a top-level await in the module given to tracks simulate?)\n');
  process.exitCode = 2;
});

const code = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
finished = true;
process.exitCode = code;
// The command is done: a timer or a connection left open by a module it imported (`tracks
// simulate` loads the application's sets, and whatever they import) must not keep it running.
// It ends once its output has been handed over.
await Promise.all([process.stdout, process.stderr].map((stream) => new Promise<void>((resolve) => stream.write('', () => resolve()))));
process.exit(code);
