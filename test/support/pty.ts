// Runs a command on a pseudo-terminal, so that it sees a TTY on stdin and stdout (an interactive
// prompt), and lets a test read what it shows and type into it. No npm package: python3's pty
// module holds the terminal (python3 is on every CI machine; util-linux's `script` would do too,
// but its exit status and its handling of a closed stdin vary between versions).
import { spawn, spawnSync } from 'node:child_process';

// The relay: the child gets the pty's slave as stdin/stdout/stderr, with an 80x24 window; the
// parent copies our stdin to the master and the master to our stdout until the child has exited,
// then exits with the child's status (128+N for a signal, as a shell reports it).
const RELAY = `
import os, pty, select, struct, sys, fcntl, termios
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack('HHHH', 24, 80, 0, 0))
    os.execvp(sys.argv[1], sys.argv[1:])
fds = [fd, 0]
while True:
    ready = select.select(fds, [], [])[0]
    if fd in ready:
        try:
            data = os.read(fd, 65536)
        except OSError:
            data = b''
        if not data:
            break
        os.write(1, data)
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            os.write(fd, data)
        else:
            fds.remove(0)
status = os.waitpid(pid, 0)[1]
code = os.waitstatus_to_exitcode(status)
sys.exit(128 - code if code < 0 else code)
`;

export interface PtyResult {
  code: number;
  /** Everything the terminal showed, escape sequences included. */
  output: string;
}

export interface PtySession {
  /** What the terminal has shown so far. */
  readonly output: string;
  /** Resolves once the output matches `pattern`; rejects after `ms` or if the command exits first. */
  waitFor(pattern: string | RegExp, ms?: number): Promise<void>;
  /** Types `text` (use '\r' for Enter, '\x03' for Ctrl-C). */
  write(text: string): void;
  /** Resolves when the command has exited. */
  readonly exited: Promise<PtyResult>;
  kill(): void;
}

/** Why pty tests cannot run here, or undefined when they can. */
export function ptyUnavailable(): string | undefined {
  const r = spawnSync('python3', ['-c', 'import pty, os; print(hasattr(os, "waitstatus_to_exitcode"))'], {
    encoding: 'utf8',
  });
  if (r.error || r.status !== 0) return 'python3 (with its pty module) is needed to drive a pseudo-terminal';
  if (r.stdout.trim() !== 'True') return 'python3 3.9 or newer is needed to drive a pseudo-terminal';
  return undefined;
}

/** Starts `argv` on a pseudo-terminal. */
export function spawnInPty(
  argv: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; timeoutMs?: number; term?: string } = {},
): PtySession {
  const child = spawn('python3', ['-c', RELAY, ...argv], {
    // TERM as a terminal emulator sets it (CI often has none, or `dumb`)
    env: { ...(opts.env ?? process.env), TERM: opts.term ?? 'xterm' },
    cwd: opts.cwd,
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let output = '';
  let errors = '';
  const waiters = new Set<() => void>();
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (d: string) => {
    output += d;
    for (const w of [...waiters]) w();
  });
  child.stderr.on('data', (d) => (errors += d));
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 60_000);
  let done = false;
  const exited = new Promise<PtyResult>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      done = true;
      for (const w of [...waiters]) w();
      if (errors !== '') output += errors; // the relay's own failures
      resolve({ code: code ?? 128 + (signal === 'SIGKILL' ? 9 : 15), output });
    });
  });
  return {
    get output() {
      return output;
    },
    exited,
    write(text: string) {
      child.stdin.write(text);
    },
    kill() {
      child.kill('SIGKILL');
    },
    waitFor(pattern, ms = 20_000) {
      const matches = (): boolean => (typeof pattern === 'string' ? output.includes(pattern) : pattern.test(output));
      return new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (matches()) finish();
          else if (done) finish(new Error(`exited before showing ${String(pattern)}; output:\n${output}`));
        };
        const timeout = setTimeout(
          () => finish(new Error(`timed out waiting for ${String(pattern)}; output:\n${output}`)),
          ms,
        );
        const finish = (err?: Error): void => {
          clearTimeout(timeout);
          waiters.delete(check);
          if (err) reject(err);
          else resolve();
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Removes terminal escape sequences (colours, cursor moves) and carriage returns from `text`. */
export function plainText(text: string): string {
  const ESC = String.fromCharCode(27);
  return text
    .replace(new RegExp(`${ESC}\\[[0-9;?]*[ -/]*[@-~]`, 'g'), '')
    .replace(new RegExp(`${ESC}[()][A-Z0-9]`, 'g'), '')
    .replace(/\r/g, '');
}
