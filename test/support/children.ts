import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const live = new Set<ChildProcess>();

/**
 * Runs a TypeScript file in a child Node process and tracks it for the leak check. The loader is
 * imported into that process (`--import tsx`) rather than run through the tsx CLI, which would put
 * a relaying parent in between: a SIGKILL must reach the process under test.
 */
export function spawnTs(
  file: string | URL,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): ChildProcess {
  const path = typeof file === 'string' ? file : fileURLToPath(file);
  const child = spawn(process.execPath, ['--import', 'tsx', path, ...args], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  live.add(child);
  child.once('exit', () => live.delete(child));
  return child;
}

/** Resolves with the exit code (or signal) of a child. */
export function exited(child: ChildProcess): Promise<number | NodeJS.Signals> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  if (child.signalCode !== null) return Promise.resolve(child.signalCode);
  return new Promise((resolve) =>
    child.once('exit', (code, signal) => resolve(code ?? signal ?? -1)),
  );
}

/** Pids of tracked children still running. */
export function runningChildren(): number[] {
  return [...live]
    .filter((c) => c.exitCode === null && c.signalCode === null)
    .map((c) => c.pid ?? -1);
}
