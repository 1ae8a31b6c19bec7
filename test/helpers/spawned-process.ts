/**
 * A command of the repository run as a child in its own process group (the
 * CLI tests: test/e2e/signals.test.ts, test/e2e/cli-http2.test.ts), with all
 * it prints (stdout and stderr) collected: spawnInGroup() starts it,
 * waitForOutput() waits for a line of it, killSpawnedGroups() (in an `after`
 * hook) kills whatever group a failed test left behind.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** A child in its own process group, and what it printed so far. */
export interface SpawnedProcess {
  child: ChildProcess;
  output: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const spawned = new Set<ChildProcess>();

/** Run `command` from the repository's root, detached (its own group), NO_COLOR=1 and `env` added to this environment. */
export function spawnInGroup([command, ...args]: readonly string[], env: NodeJS.ProcessEnv = {}): SpawnedProcess {
  const child = spawn(command!, args, { cwd: REPO, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, NO_COLOR: '1', ...env } });
  spawned.add(child);
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  return { child, output: () => output, exited };
}

/** SIGKILL the whole group of every child spawnInGroup() started: whatever is left, if a test failed before stopping it. */
export function killSpawnedGroups(): void {
  for (const child of spawned) {
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is gone already
    }
  }
}

/** The first match of `pattern` in what `spawnedProcess` printed; throws with its output if it exits first or `ms` pass. */
export async function waitForOutput(spawnedProcess: SpawnedProcess, pattern: RegExp, ms = 10_000): Promise<RegExpMatchArray> {
  const deadline = Date.now() + ms;
  for (;;) {
    const match = spawnedProcess.output().match(pattern);
    if (match) return match;
    if (spawnedProcess.child.exitCode !== null || spawnedProcess.child.signalCode !== null || Date.now() > deadline) {
      throw new Error(`no ${pattern} in the server's output:\n${spawnedProcess.output()}`);
    }
    await delay(20);
  }
}

/**
 * SIGTERM `child`'s whole process group, and resolve once `done` settles
 * (its exit, or its pipes' close); SIGKILL the group if that takes more than
 * `graceMs`. Nothing to do if the group is gone already.
 */
export async function stopProcessGroup(child: ChildProcess, done: Promise<unknown>, graceMs = 5_000): Promise<void> {
  try {
    process.kill(-child.pid!, 'SIGTERM');
  } catch {
    return; // the group is gone already
  }
  let timer: NodeJS.Timeout | undefined;
  const settled = await Promise.race([done.then(() => true), new Promise<boolean>((resolve) => (timer = setTimeout(resolve, graceMs, false)))]);
  clearTimeout(timer);
  if (settled) return;
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // gone in the meantime
  }
  await done;
}

/** True once no process of `child`'s group is left. */
export function processGroupGone(child: ChildProcess): boolean {
  try {
    process.kill(-child.pid!, 0);
    return false;
  } catch {
    return true;
  }
}
