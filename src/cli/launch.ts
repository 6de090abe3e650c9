// A fast entry point for bin/run.js: finds the command in oclif.manifest.json and runs it
// directly, skipping oclif's start-up (Config.load, plugin scan: ~100 ms here). Help, unknown
// commands, topics and commands that are not ours go to oclif as before.
//
// Use from bin/run.js:
//   require('../dist/cli/launch').launch(process.argv.slice(2), __dirname + '/..');
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ManifestCommand {
  id: string;
  aliases?: string[];
  hiddenAliases?: string[];
  relativePath?: string[];
}

interface Manifest {
  commands: Record<string, ManifestCommand>;
}

type Runnable = { run(argv: string[], config?: unknown): Promise<unknown>; isShoalCommand?: boolean };

/** The manifest entry for the longest command id made of the leading words of argv. */
export function findCommand(
  manifest: Manifest,
  argv: string[],
): { entry: ManifestCommand; rest: string[] } | undefined {
  const byId = new Map<string, ManifestCommand>();
  for (const entry of Object.values(manifest.commands)) {
    byId.set(entry.id, entry);
    for (const alias of [...(entry.aliases ?? []), ...(entry.hiddenAliases ?? [])]) {
      if (!byId.has(alias)) byId.set(alias, entry);
    }
  }
  let found: { entry: ManifestCommand; rest: string[] } | undefined;
  for (let n = 1; n <= argv.length && !argv[n - 1].startsWith('-'); n++) {
    const entry = byId.get(argv.slice(0, n).join(':'));
    if (entry) found = { entry, rest: argv.slice(n) };
  }
  return found;
}

function wantsHelp(argv: string[]): boolean {
  for (const a of argv) {
    if (a === '--') return false;
    if (a === '--help') return true;
  }
  return false;
}

async function viaOclif(root: string, argv: string[]): Promise<void> {
  const { execute } = require('@oclif/core/execute') as {
    execute(o: { dir: string; args: string[] }): Promise<unknown>;
  };
  await execute({ dir: join(root, 'bin', 'run.js'), args: argv });
}

/**
 * Splits docker-style global flags written before the command (`shoal -H unix:///x.sock node ls`)
 * from the rest; they are handed to the command, which takes -H/--host itself.
 */
export function leadingHostFlags(argv: string[]): { host: string[]; rest: string[] } {
  const host: string[] = [];
  let i = 0;
  while (i < argv.length) {
    const a = argv[i];
    if ((a === '-H' || a === '--host') && i + 1 < argv.length) {
      host.push(a, argv[i + 1]);
      i += 2;
    } else if (a.startsWith('--host=') || (a.startsWith('-H') && a.length > 2)) {
      host.push(a);
      i += 1;
    } else break;
  }
  return { host, rest: argv.slice(i) };
}

export async function launch(rawArgv: string[], root: string): Promise<void> {
  const { host, rest: argv } = leadingHostFlags(rawArgv);
  let found: ReturnType<typeof findCommand>;
  try {
    const manifest = JSON.parse(readFileSync(join(root, 'oclif.manifest.json'), 'utf8')) as Manifest;
    found = wantsHelp(argv) ? undefined : findCommand(manifest, argv);
  } catch {
    found = undefined; // no manifest (not built): oclif finds the commands itself
  }
  if (found?.entry.relativePath) {
    const mod = require(join(root, ...found.entry.relativePath)) as { default?: Runnable };
    const cmd = mod.default;
    if (cmd?.isShoalCommand) {
      await cmd.run([...host, ...found.rest]);
      return;
    }
  }
  // oclif wants the command first: put the global flags after its words
  const words = found ? found.entry.id.split(':').length : 0;
  await viaOclif(root, host.length > 0 && found ? [...argv.slice(0, words), ...host, ...argv.slice(words)] : argv);
}
