// Reads every file under a directory, for tests that search a data root for secrets in the clear.
import { readdirSync, readFileSync, lstatSync } from 'node:fs';
import { join } from 'node:path';

export function allFiles(dir: string): { path: string; data: Buffer }[] {
  const out: { path: string; data: Buffer }[] = [];
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = lstatSync(p);
    if (st.isDirectory()) out.push(...allFiles(p));
    else if (st.isFile()) out.push({ path: p, data: readFileSync(p) });
  }
  return out;
}

/** The files (and offsets) in which `needle` occurs. */
export function findIn(files: { path: string; data: Buffer }[], needle: Buffer | string): string[] {
  const n = typeof needle === 'string' ? Buffer.from(needle) : needle;
  return files.filter((f) => f.data.includes(n)).map((f) => `${f.path}@${f.data.indexOf(n)}`);
}
