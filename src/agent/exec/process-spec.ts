// Turns a task's ContainerSpec into what the process executor needs to spawn it, rejecting what it cannot run.

import { constants, homedir } from 'node:os';
import { isAbsolute } from 'node:path';
import type { Task } from '../../types/swarm';
import { TaskRejectedError } from './executor';

/** Docker's default PATH, for a daemon started without one. */
const DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const DEFAULT_STOP_SIGNAL = 'SIGTERM';
const DEFAULT_GRACE_MS = 10_000;

export interface ProcessSpec {
  argv: string[];
  env: Record<string, string>;
  /** Undefined → the daemon's own working directory. */
  cwd?: string;
  uid?: number;
  gid?: number;
  image?: string;
  stopSignal: NodeJS.Signals;
  stopGraceMs: number;
}

const SIGNALS = constants.signals as Record<string, number>;

/** moby's signal.ParseSignal: a number, or a name with or without SIG in any case. */
export function parseSignal(raw: string): NodeJS.Signals | undefined {
  const s = raw.trim();
  if (/^\d+$/.test(s)) {
    const n = Number(s);
    return n === 0 ? undefined : (Object.keys(SIGNALS).find((k) => SIGNALS[k] === n) as NodeJS.Signals | undefined);
  }
  const name = 'SIG' + s.toUpperCase().replace(/^SIG/, '');
  return name in SIGNALS ? (name as NodeJS.Signals) : undefined;
}

export function signalNumber(sig: string): number {
  return SIGNALS[sig] ?? 0;
}

/** Docker's ReplaceOrAppendEnvValues: later entries win, and a bare KEY (no '=') unsets KEY. */
export function buildEnv(base: Record<string, string>, entries: readonly string[]): Record<string, string> {
  const env = { ...base };
  for (const e of entries) {
    const i = e.indexOf('=');
    if (i === -1) delete env[e];
    else env[e.slice(0, i)] = e.slice(i + 1);
  }
  return env;
}

export function resolveProcessSpec(task: Task): ProcessSpec {
  const c = task.Spec?.ContainerSpec ?? {};
  const command = c.Command ?? [];
  const args = c.Args ?? [];
  // Docker's entrypoint/cmd split: Command replaces the image's entrypoint and Args its cmd. With no
  // image to supply defaults, the argv is simply both together.
  const argv = [...command, ...args];
  if (argv.length === 0 || argv[0] === '') {
    throw new TaskRejectedError(
      'no command specified: the process executor runs ContainerSpec.Command + Args as a process and cannot ' +
        `use the image's default command (image ${JSON.stringify(c.Image ?? '')}); give the service a command`,
    );
  }
  // spawn() would throw on these; saying so here makes the task rejected with a reason instead.
  if (argv.some((a) => a.includes('\0')))
    throw new TaskRejectedError('invalid command: an argument contains a NUL byte');
  const env = buildEnv({ PATH: process.env.PATH || DEFAULT_PATH, HOME: process.env.HOME || homedir() }, c.Env ?? []);
  for (const [k, v] of Object.entries(env)) {
    if (k === '' || k.includes('\0') || v.includes('\0')) {
      throw new TaskRejectedError(`invalid environment variable: ${JSON.stringify(k)}`);
    }
  }

  let cwd: string | undefined;
  if (c.Dir) {
    // A relative directory would be relative to wherever the daemon happens to run. Docker's own text:
    if (!isAbsolute(c.Dir)) {
      throw new TaskRejectedError(`the working directory '${c.Dir}' is invalid, it needs to be an absolute path`);
    }
    cwd = c.Dir;
  }

  let uid: number | undefined;
  let gid: number | undefined;
  if (c.User) {
    // Names would need the host's user database; numeric ids map straight onto spawn's uid/gid.
    const m = /^(\d+)(?::(\d+))?$/.exec(c.User);
    if (!m) {
      throw new TaskRejectedError(
        `unsupported user ${JSON.stringify(c.User)}: the process executor accepts only a numeric uid[:gid]`,
      );
    }
    uid = Number(m[1]);
    gid = m[2] === undefined ? undefined : Number(m[2]);
  }

  let stopSignal: NodeJS.Signals = DEFAULT_STOP_SIGNAL;
  if (c.StopSignal) {
    const sig = parseSignal(c.StopSignal);
    if (!sig) throw new TaskRejectedError(`invalid stop signal: ${c.StopSignal}`);
    stopSignal = sig;
  }
  const graceNs = c.StopGracePeriod;
  const stopGraceMs = graceNs === undefined || graceNs === null ? DEFAULT_GRACE_MS : Math.max(0, graceNs / 1e6);

  return { argv, env, cwd, uid, gid, image: c.Image, stopSignal, stopGraceMs };
}
