import { spawn } from 'node:child_process';

/**
 * Runs a TypeScript script in a child process of its own (another service process, a CLI),
 * with `env` over this one's; resolves with its exit code and output once it ends, killed with
 * SIGKILL after `killAfterMs` if it has not.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runScript(writer, { STORE: path });
 * ```
 */
export function runScript(script: string, env: Record<string, string>, killAfterMs = 40_000): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}
