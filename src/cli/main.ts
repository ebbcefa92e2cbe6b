#!/usr/bin/env node
// The `tracks` executable: runs the command line on this process's arguments.
import { runCli } from './run-cli.js';

// A reader that stops early (`tracks report --json | head`) closes the pipe: the output is
// not wanted any more, which is no error of ours.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code !== 'EPIPE') throw error;
  process.exit(process.exitCode ?? 0);
});

process.exitCode = await runCli(process.argv.slice(2), {
  stdout: (text) => process.stdout.write(`${text}\n`),
  stderr: (text) => process.stderr.write(`${text}\n`),
  env: process.env,
});
