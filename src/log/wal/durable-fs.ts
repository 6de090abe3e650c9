// File operations with the ordering a crash-safe log needs: data reaches the disk before the
// name that points at it, and a new or removed name is made durable by syncing its directory.

import { chmod, mkdir, open, readdir, rename, rm, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';

export const TEMP_SUFFIX = '.tmp';

/** Creates `dir` (and parents) if needed and makes it private to the owner: the log is a secret. */
export async function ensurePrivateDir(dir: string): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  await chmod(dir, 0o700);
}

/** Makes the creation, renaming or removal of entries in `dir` durable. */
export async function syncDir(dir: string): Promise<void> {
  const fh = await open(dir, 'r');
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** One write in the ordinary case; more only if the kernel accepts part of the buffer. */
export async function writeFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let done = 0;
  while (done < buf.length) {
    const { bytesWritten } = await fh.write(buf, done, buf.length - done, position + done);
    if (bytesWritten <= 0) throw new Error(`short write at ${position + done}`);
    done += bytesWritten;
  }
}

/** Writes `data` as `file` all or nothing: a temporary file, synced, then renamed over `file`. */
export async function writeFileAtomically(dir: string, name: string, data: Buffer): Promise<string> {
  const file = join(dir, name);
  const tmp = file + TEMP_SUFFIX;
  const fh = await open(tmp, 'w', 0o600);
  try {
    await writeFully(fh, data, 0);
    await fh.sync();
  } catch (err) {
    await fh.close();
    await rm(tmp, { force: true });
    throw err;
  }
  await fh.close();
  await renameDurably(dir, tmp, file);
  return file;
}

export async function renameDurably(dir: string, from: string, to: string): Promise<void> {
  await rename(from, to);
  await syncDir(dir);
}

/** Removes what a crash left half-written: temporary files are never renamed into place after one. */
export async function removeTempFiles(dir: string): Promise<void> {
  const stale = (await readdir(dir)).filter((n) => n.endsWith(TEMP_SUFFIX));
  for (const n of stale) await rm(join(dir, n), { force: true });
  if (stale.length > 0) await syncDir(dir);
}

/** Cuts `file` to `size` bytes, durably. */
export async function truncateDurably(file: string, size: number): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    await fh.truncate(size);
    await fh.sync();
  } finally {
    await fh.close();
  }
}
