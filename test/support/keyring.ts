// A private Secret Service for keychain tests: gnome-keyring on its own D-Bus session bus, with
// HOME in a temporary folder, so that tests never touch the keychain of the user running them.
//
//   dbus-run-session -- sh -c 'printf pw | gnome-keyring-daemon --unlock --components=secrets; …'
//
// `--unlock` with a password on stdin creates the default ("login") collection unlocked, so
// nothing ever asks for a password. The session lives as long as a `cat` that reads our pipe:
// stop() (or this process dying) closes the pipe, and the bus and gnome-keyring go with it.
// Needs the Debian packages gnome-keyring and dbus-user-session (dbus-run-session).
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
export const SERVICE = 'shoal-unlock-key';

const START = `printf shoal-test | gnome-keyring-daemon --unlock --components=secrets >/dev/null || exit 1
echo "DBUS_SESSION_BUS_ADDRESS=$DBUS_SESSION_BUS_ADDRESS"
exec cat >/dev/null`;

/** Reads and writes entries with @napi-rs/keyring in a child process on the session's bus. */
const ENTRY_SCRIPT = `
const { Entry } = require('@napi-rs/keyring');
const [op, service, account, value] = process.argv.slice(1);
const e = new Entry(service, account, { linux: { store: 'secret-service' } });
if (op === 'get') process.stdout.write(JSON.stringify(e.getPassword()));
else if (op === 'set') e.setPassword(value);
else if (op === 'delete') process.stdout.write(JSON.stringify(e.deletePassword()));
`;

/** Why a private Secret Service cannot run here, or undefined when it can. */
export function keyringUnavailable(): string | undefined {
  if (process.platform !== 'linux') return 'the keychain tests use gnome-keyring, on Linux';
  for (const bin of ['dbus-run-session', 'gnome-keyring-daemon']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) {
      return `${bin} is not installed (apt-get install gnome-keyring dbus-user-session)`;
    }
  }
  return undefined;
}

export class KeyringSession {
  readonly home = mkdtempSync(join(tmpdir(), 'shoal-keyring-'));
  private proc?: ChildProcess;
  busAddress = '';

  /** The environment a CLI needs to use this keyring: HOME and the bus address. */
  get env(): NodeJS.ProcessEnv {
    return { HOME: this.home, DBUS_SESSION_BUS_ADDRESS: this.busAddress };
  }

  async start(): Promise<this> {
    const proc = spawn('dbus-run-session', ['--', 'sh', '-c', START], {
      env: { ...process.env, HOME: this.home, XDG_RUNTIME_DIR: this.home },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    this.proc = proc;
    let out = '';
    let err = '';
    proc.stderr!.on('data', (d) => (err += d));
    this.busAddress = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`gnome-keyring did not start:\n${err}`)), 20_000);
      proc.stdout!.on('data', (d) => {
        out += d;
        const m = /DBUS_SESSION_BUS_ADDRESS=(.*)\n/.exec(out);
        if (m) {
          clearTimeout(timer);
          resolve(m[1]);
        }
      });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`dbus-run-session exited (${code}):\n${err}`));
      });
    });
    return this;
  }

  async stop(): Promise<void> {
    const p = this.proc;
    if (p && p.exitCode === null && p.signalCode === null) {
      const exited = new Promise((resolve) => p.once('exit', resolve));
      p.stdin!.end();
      await exited;
    }
    rmSync(this.home, { recursive: true, force: true });
  }

  private entry(args: string[]): string {
    const r = spawnSync(process.execPath, ['-e', ENTRY_SCRIPT, ...args], {
      cwd: ROOT,
      env: { ...process.env, ...this.env },
      encoding: 'utf8',
    });
    if (r.status !== 0) throw new Error(`keyring ${args[0]} failed: ${r.stderr}`);
    return r.stdout;
  }

  /** The stored unlock key for a cluster, or null. */
  get(account: string, service = SERVICE): string | null {
    return JSON.parse(this.entry(['get', service, account])) as string | null;
  }

  set(account: string, value: string, service = SERVICE): void {
    this.entry(['set', service, account, value]);
  }

  delete(account: string, service = SERVICE): boolean {
    return JSON.parse(this.entry(['delete', service, account])) as boolean;
  }
}
