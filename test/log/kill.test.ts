// A writer killed with SIGKILL at random moments: every index it acknowledged must be there on
// reopening, with the entry it acknowledged, and the log must run on without a gap.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DiskLogStorage } from '../../src/log/wal/disk-storage';

const SRC = resolve(__dirname, '..', '..', 'src', 'log');
const RUNS = 24;
const SEGMENT_BYTES = 8192;

// Eight writers propose in a loop through SingleMemberLog (group commit, snapshots every 200
// entries, small segments: rollover and compaction happen between kills) and print
// "<index> <data>" once each proposal resolves, that is once its batch is fdatasync'd.
const CHILD = `
import { DiskLogStorage } from ${JSON.stringify(join(SRC, 'wal', 'disk-storage'))};
import { SingleMemberLog } from ${JSON.stringify(join(SRC, 'single-member-log'))};
import type { LogEntry, Snapshot } from ${JSON.stringify(join(SRC, 'replicated-log'))};

async function main(): Promise<void> {
  const [dir, key, run] = process.argv.slice(2);
  const storage = await DiskLogStorage.open(dir, { deks: [Buffer.from(key, 'hex')], segmentBytes: ${SEGMENT_BYTES} });
  let count = 0;
  const sm = {
    apply: (e: LogEntry) => (count++, e.index),
    snapshot: () => Buffer.from(String(count)),
    restore: (s: Snapshot) => void (count = Number(s.data.toString())),
  };
  const log = await SingleMemberLog.open(sm, { storage, snapshotInterval: 200 });
  process.stdout.write('ready\\n');
  const writer = async (w: number) => {
    for (let i = 0; ; i++) {
      const data = \`r\${run}-w\${w}-\${i}\`;
      const index = await log.propose(Buffer.from(data));
      process.stdout.write(\`\${index} \${data}\\n\`);
    }
  };
  for (let w = 0; w < 8; w++) void writer(w);
}
void main();
`;

function runUntilKilled(script: string, dir: string, key: string, run: number): Promise<string> {
  return new Promise((done, fail) => {
    const child = spawn(process.execPath, ['--import', 'tsx', script, dir, key, String(run)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let out = '';
    let armed = false;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (chunk: string) => {
      out += chunk;
      if (!armed && out.includes('ready\n')) {
        armed = true;
        // Now and then at once, while it may still be writing its first batch; otherwise mid-stream.
        const delay = run % 4 === 0 ? 0 : 20 + Math.floor(Math.random() * 250);
        setTimeout(() => child.kill('SIGKILL'), delay);
      }
    });
    child.on('error', fail);
    child.on('close', (code, signal) => {
      if (signal !== 'SIGKILL') fail(new Error(`child exited with ${code ?? signal} before it was killed:\n${out}`));
      else done(out);
    });
  });
}

test(`kill -9 at random moments, ${RUNS} times: every acknowledged entry survives`, { timeout: 240_000 }, async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'shoal-wal-kill-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const script = join(root, 'writer.ts');
  writeFileSync(script, CHILD);
  const dir = join(root, 'raft');
  const key = randomBytes(32);
  const acked = new Map<number, string>();
  let killedMidStream = 0;

  for (let run = 0; run < RUNS; run++) {
    const out = await runUntilKilled(script, dir, key.toString('hex'), run);
    const before = acked.size;
    for (const line of out.split('\n')) {
      const m = /^(\d+) (\S+)$/.exec(line);
      if (!m) continue;
      assert.ok(!acked.has(Number(m[1])), `index ${m[1]} acknowledged twice`);
      acked.set(Number(m[1]), m[2]);
    }
    if (acked.size - before > 0) killedMidStream++;

    // Load throws on any gap or damage; what it returns must hold every acknowledgement so far.
    const s = await DiskLogStorage.open(dir, { deks: [key], segmentBytes: SEGMENT_BYTES });
    const { snapshot, entries } = await s.load();
    await s.close();
    const snapIndex = snapshot?.meta.index ?? 0;
    if (snapshot) assert.equal(Number(snapshot.data.toString()), snapIndex, 'the snapshot counted every entry once');
    const last = entries.at(-1)?.index ?? snapIndex;
    entries.forEach((e, i) => assert.equal(e.index, snapIndex + 1 + i));
    for (const [index, data] of acked) {
      assert.ok(index <= last, `run ${run}: acknowledged index ${index} is missing (log ends at ${last})`);
      if (index > snapIndex) assert.equal(entries[index - snapIndex - 1].data.toString(), data, `index ${index}`);
    }
  }
  t.diagnostic(`${acked.size} entries acknowledged over ${RUNS} kills (${killedMidStream} mid-stream)`);
  assert.ok(killedMidStream >= RUNS / 2, `only ${killedMidStream} runs acknowledged anything before the kill`);
  assert.ok(acked.size > 100, `${acked.size} acknowledgements in all`);
});
