// A private Docker Engine for tests and benchmarks: dockerd in a temporary directory (its own data
// root, exec root, socket and managed containerd), with a tiny busybox image imported into it, since
// no registry is reachable from the test machines. Tests skip, saying why, where dockerd cannot run.
//
// Flags that work in a container-like sandbox: no default bridge and no iptables/ip6tables rules
// (containers get an isolated network namespace, which the tests do not need to leave).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  symlinkSync,
  copyFileSync,
} from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';

/** The image every test dockerd has: busybox, `CMD ["sh"]`. */
export const TEST_IMAGE = 'shoal-test/busybox:latest';
/** The same image with a healthcheck of its own (`true` every second), for image-healthcheck tests. */
export const HEALTHY_IMAGE = 'shoal-test/busybox-healthy:latest';

const APPLETS = [
  'sh',
  'sleep',
  'echo',
  'cat',
  'ls',
  'true',
  'false',
  'env',
  'id',
  'hostname',
  'kill',
  'ps',
  'pwd',
  'touch',
  'test',
  'trap',
  'seq',
  'yes',
  'head',
  'printf',
  'date',
  'wc',
  'grep',
  'mkdir',
  'rm',
  'stat',
  'mount',
];
const BUSYBOX_CANDIDATES = ['/bin/busybox', '/usr/bin/busybox', '/usr/lib/busybox/busybox-static'];

export interface RunResult {
  code: number;
  stdout: string;
  stderr: string;
}

function which(cmd: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const p = join(dir, cmd);
    if (dir && existsSync(p)) return p;
  }
  return undefined;
}

/** Whether an ELF executable has no program interpreter (PT_INTERP), i.e. runs in an empty rootfs. */
function isStaticElf(path: string): boolean {
  try {
    const fd = openSync(path, 'r');
    try {
      const head = Buffer.alloc(64);
      readSync(fd, head, 0, 64, 0);
      if (head.readUInt32BE(0) !== 0x7f454c46 || head[4] !== 2) return false; // ELF, 64-bit
      const phoff = Number(head.readBigUInt64LE(0x20));
      const phentsize = head.readUInt16LE(0x36);
      const phnum = head.readUInt16LE(0x38);
      const ph = Buffer.alloc(phentsize * phnum);
      readSync(fd, ph, 0, ph.length, phoff);
      for (let i = 0; i < phnum; i++) if (ph.readUInt32LE(i * phentsize) === 3) return false;
      return true;
    } finally {
      closeSync(fd);
    }
  } catch {
    return false;
  }
}

function staticBusybox(): string | undefined {
  return BUSYBOX_CANDIDATES.find((p) => existsSync(p) && isStaticElf(p));
}

/**
 * Why a private dockerd cannot run here (for `{ skip }`), or undefined when it can: it needs dockerd,
 * the docker CLI, root and a static busybox (apt packages docker.io and busybox-static).
 */
export function dockerdSkipReason(): string | undefined {
  if (!which('dockerd')) return 'dockerd is not installed (apt-get install docker.io busybox-static)';
  if (!which('docker')) return 'the docker CLI is not installed (apt-get install docker.io)';
  if (process.getuid?.() !== 0) return 'dockerd needs root';
  if (!staticBusybox()) return 'no static busybox to build the test image from (apt-get install busybox-static)';
  return undefined;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function ping(socketPath: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = request({ socketPath, path: '/_ping', timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
    req.on('timeout', () => (req.destroy(), resolve(false)));
    req.end();
  });
}

export class PrivateDockerd {
  readonly dir: string;
  readonly socket: string;
  /** `unix:///…/docker.sock`, for --docker-host and DOCKER_HOST. */
  readonly host: string;
  readonly logPath: string;
  private proc?: ChildProcess;

  /** `env`: extra environment for dockerd (e.g. DOCKER_SERVICE_PREFER_OFFLINE_IMAGE for swarm mode). */
  constructor(
    prefix = 'shoal-dockerd-',
    private readonly dockerdEnv: NodeJS.ProcessEnv = {},
  ) {
    // Short: containerd's socket lives under the exec root, and Unix socket paths are limited to 108 bytes.
    this.dir = mkdtempSync(join(tmpdir(), prefix));
    this.socket = join(this.dir, 'docker.sock');
    this.host = `unix://${this.socket}`;
    this.logPath = join(this.dir, 'dockerd.log');
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** The environment for the docker CLI against this engine. */
  get env(): NodeJS.ProcessEnv {
    return { ...process.env, DOCKER_HOST: this.host, DOCKER_CONFIG: join(this.dir, 'cli') };
  }

  /** Starts dockerd and waits until /_ping answers; imports the test images on the first start. */
  async start(): Promise<void> {
    mkdirSync(join(this.dir, 'cli'), { recursive: true });
    const log = openSync(this.logPath, 'a');
    this.proc = spawn(
      'dockerd',
      [
        '--data-root',
        join(this.dir, 'data'),
        '--exec-root',
        join(this.dir, 'exec'),
        '--host',
        this.host,
        '--pidfile',
        join(this.dir, 'docker.pid'),
        '--bridge',
        'none',
        '--iptables=false',
        '--ip6tables=false',
        '--log-level',
        'warn',
      ],
      { stdio: ['ignore', log, log], env: { ...process.env, ...this.dockerdEnv } },
    );
    closeSync(log);
    const proc = this.proc;
    for (let i = 0; i < 300; i++) {
      if (await ping(this.socket)) break;
      if (proc.exitCode !== null) throw new Error(`dockerd exited with ${proc.exitCode}:\n${this.tail()}`);
      if (i === 299) throw new Error(`dockerd did not answer within 30 s:\n${this.tail()}`);
      await sleep(100);
    }
    if (!this.docker(['image', 'inspect', TEST_IMAGE]).code) return;
    this.importImages();
  }

  private importImages(): void {
    const rootfs = join(this.dir, 'rootfs');
    mkdirSync(join(rootfs, 'bin'), { recursive: true });
    mkdirSync(join(rootfs, 'tmp'), { recursive: true });
    copyFileSync(staticBusybox()!, join(rootfs, 'bin', 'busybox'));
    for (const a of APPLETS) symlinkSync('busybox', join(rootfs, 'bin', a));
    const tar = spawnSync('tar', ['-C', rootfs, '-c', '.'], { maxBuffer: 64 << 20 });
    if (tar.status !== 0) throw new Error(`tar failed: ${tar.stderr}`);
    const imports: [string, string[]][] = [
      [TEST_IMAGE, ['--change', 'CMD ["sh"]']],
      [HEALTHY_IMAGE, ['--change', 'CMD ["sh"]', '--change', 'HEALTHCHECK --interval=1s CMD true']],
    ];
    for (const [tag, changes] of imports) {
      const r = spawnSync('docker', ['import', ...changes, '-', tag], {
        input: tar.stdout,
        env: this.env,
        encoding: 'utf8',
      });
      if (r.status !== 0) throw new Error(`docker import ${tag} failed: ${r.stderr}`);
    }
    rmSync(rootfs, { recursive: true, force: true });
  }

  /** The docker CLI against this engine. */
  docker(args: string[], input?: string): RunResult {
    const r = spawnSync('docker', args, { env: this.env, input, encoding: 'utf8', timeout: 120_000 });
    return { code: r.status ?? -1, stdout: r.stdout ?? '', stderr: r.stderr ?? '' };
  }

  /** Like docker(), but throws with its stderr on failure and returns trimmed stdout. */
  mustDocker(args: string[]): string {
    const r = this.docker(args);
    if (r.code !== 0) throw new Error(`docker ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  /** The last lines of dockerd's log, for failure messages. */
  tail(lines = 30): string {
    try {
      return readFileSync(this.logPath, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** Stops dockerd (SIGTERM: it stops its containers) and waits for it; keeps its data for a restart. */
  async halt(): Promise<void> {
    const p = this.proc;
    if (!p || p.exitCode !== null || p.signalCode !== null) return;
    const exited = new Promise<void>((r) => p.once('exit', () => r()));
    p.kill('SIGTERM');
    const timer = setTimeout(() => p.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(timer);
  }

  /** Removes every container, stops dockerd, unmounts what it left mounted and deletes the directory. */
  async stop(): Promise<void> {
    if (this.proc && this.proc.exitCode === null) {
      const ids = this.docker(['ps', '-aq']).stdout.split('\n').filter(Boolean);
      if (ids.length) this.docker(['rm', '-f', '-v', ...ids]);
      if (this.docker(['info', '--format', '{{.Swarm.LocalNodeState}}']).stdout.trim() === 'active') {
        this.docker(['swarm', 'leave', '--force']);
      }
    }
    await this.halt();
    this.unmountAll();
    rmSync(this.dir, { recursive: true, force: true });
  }

  /** Overlay and shm mounts under the data and exec roots, deepest first, lazily (they may still be busy). */
  private unmountAll(): void {
    let mounts: string[];
    try {
      mounts = readFileSync('/proc/self/mounts', 'utf8')
        .split('\n')
        .map((l) => l.split(' ')[1]?.replace(/\\040/g, ' '))
        .filter((m): m is string => !!m && m.startsWith(this.dir + '/'));
    } catch {
      return;
    }
    for (const m of mounts.sort((a, b) => b.length - a.length)) spawnSync('umount', ['-l', m]);
  }
}

/** Starts a private dockerd; stop() it when done. */
export async function startDockerd(prefix?: string, env?: NodeJS.ProcessEnv): Promise<PrivateDockerd> {
  const d = new PrivateDockerd(prefix, env);
  try {
    await d.start();
  } catch (err) {
    await d.stop().catch(() => undefined);
    throw err;
  }
  return d;
}
