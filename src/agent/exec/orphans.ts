// Cleaning up after a daemon crash. A task's process is the daemon's child in its own process group;
// Node has no way to make it die with its parent (no PR_SET_PDEATHSIG), so if the daemon is killed the
// group lives on. Each running task therefore leaves a pid file, and the next daemon kills the groups
// recorded there (ProcessExecutor.init). The file also holds the process's start time and the boot ID,
// so a pid that the kernel has since reused for an unrelated process is left alone. Until then, an
// orphan that writes to its stdout/stderr gets SIGPIPE, since the daemon held the pipes' read ends.

import { readFile, readdir, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

export const PID_FILE = 'pid';

interface PidRecord {
  pid: number;
  /** Field 22 of /proc/<pid>/stat: clock ticks after boot, which with the pid names a process uniquely. */
  startTime?: string;
  bootId?: string;
}

interface ProcStat {
  pid: number;
  pgrp: number;
  startTime: string;
  zombie: boolean;
}

async function readProcStat(pid: number | string): Promise<ProcStat | undefined> {
  try {
    const text = await readFile(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may itself contain spaces and parentheses.
    const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { pid: Number(pid), pgrp: Number(f[2]), startTime: f[19], zombie: f[0] === 'Z' };
  } catch {
    return undefined;
  }
}

async function bootId(): Promise<string | undefined> {
  try {
    return (await readFile('/proc/sys/kernel/random/boot_id', 'utf8')).trim();
  } catch {
    return undefined;
  }
}

export async function writePidFile(dir: string, pid: number): Promise<void> {
  const stat = await readProcStat(pid);
  const rec: PidRecord = { pid, startTime: stat?.startTime, bootId: await bootId() };
  await writeFile(join(dir, PID_FILE), JSON.stringify(rec) + '\n', { mode: 0o600 });
}

export async function removePidFile(dir: string): Promise<void> {
  await unlink(join(dir, PID_FILE)).catch(() => undefined);
}

function kill(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // Gone already (ESRCH).
  }
}

/**
 * SIGKILLs what is left of the process groups recorded under tasksDir, removes their pid files, and
 * returns the IDs of the tasks that still had processes. Linux only (it needs /proc to check identities).
 */
export async function reapOrphans(tasksDir: string): Promise<string[]> {
  let ids: string[];
  try {
    ids = await readdir(tasksDir);
  } catch {
    return [];
  }
  const boot = await bootId();
  let procs: ProcStat[] | undefined;
  const reaped: string[] = [];
  for (const id of ids) {
    const dir = join(tasksDir, id);
    let rec: PidRecord;
    try {
      rec = JSON.parse(await readFile(join(dir, PID_FILE), 'utf8')) as PidRecord;
    } catch {
      continue;
    }
    if (boot && rec.bootId === boot && rec.startTime && Number.isInteger(rec.pid) && rec.pid > 1) {
      procs ??= (
        await Promise.all(
          (await readdir('/proc').catch(() => [] as string[])).filter((n) => /^\d+$/.test(n)).map(readProcStat),
        )
      ).filter((p): p is ProcStat => !!p && !p.zombie);
      const leader = procs.find((p) => p.pid === rec.pid);
      let victims: number[] = [];
      if (leader) {
        if (leader.startTime === rec.startTime) victims = [-rec.pid];
      } else {
        // The leader died but the group can outlive it. A new group with this id could only have been
        // made by a live process with this pid, and there is none, so members are ours; the start-time
        // check keeps out anything older than the task.
        victims = procs
          .filter((p) => p.pgrp === rec.pid && Number(p.startTime) >= Number(rec.startTime))
          .map((p) => p.pid);
      }
      for (const v of victims) kill(v, 'SIGKILL');
      if (victims.length > 0) reaped.push(id);
    }
    await removePidFile(dir);
  }
  return reaped;
}
