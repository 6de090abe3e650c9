// The Docker executor against Docker Swarm itself, side by side in one run, on the same containers:
// two private dockerds from the same binary (one driven by a shoal daemon with --executor docker,
// one in swarm mode after `docker swarm init`), the same image, command and flags. For 20 and then
// 50 replicas it times `service create -d` → every container running on the engine, a rolling
// `service update -d` (a new container label, 5 tasks at a time) → every container replaced, and
// `service rm` → every container gone. The engine alone (the same number of containers created and
// started, then removed, in parallel through its API) is timed too, as the floor both sit on.
//
// Run alone with `node --import tsx bench/docker.ts [--swarm-prefer-offline-image]` (needs root,
// dockerd and busybox-static).

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Docker from 'dockerode';
import { TEST_IMAGE, dockerdSkipReason, startDockerd, type PrivateDockerd } from '../test/support/dockerd';
import { freePort, sleep } from './support';

const RUN = resolve(__dirname, '..', 'bin', 'run.js');
const POLL_MS = 25;
/** The same service for both: `--init` so that SIGTERM ends `sleep` at once (PID 1 would ignore it for the 10 s grace). */
const SERVICE_ARGS = ['--init', TEST_IMAGE, 'sleep', '600'];

export interface DockerBenchRow {
  replicas: number;
  /** ms from `service create -d` to every container running on the engine. */
  createShoal: number;
  createSwarm: number;
  /** ms for the engine alone to create and start that many containers, in parallel. */
  createEngine: number;
  /** ms from `service update -d` (parallelism 5, stop-first) to every running container being of the new spec. */
  updateShoal: number;
  updateSwarm: number;
  /** ms from `service rm` to every container gone from the engine. */
  rmShoal: number;
  rmSwarm: number;
  /** ms for the engine alone to remove (force) that many running containers, in parallel. */
  rmEngine: number;
}

export interface DockerBenchOptions {
  replicas?: number[];
  print?: boolean;
  /**
   * Docker Swarm's agent tries to pull every task's image before creating its container, even one
   * present locally (it only logs a failed pull). With no registry reachable each attempt fails
   * fast, but it is still part of the figure; DOCKER_SERVICE_PREFER_OFFLINE_IMAGE=1 turns it off,
   * which makes Swarm do what shoal does (use the local image). Default: Swarm as shipped.
   */
  swarmPreferOfflineImage?: boolean;
}

const ms = (t0: bigint) => Number(process.hrtime.bigint() - t0) / 1e6;

function must(cmd: string, args: string[], env: NodeJS.ProcessEnv): void {
  const r = spawnSync(cmd, args, { env, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed: ${r.stderr}${r.stdout}`);
}

/** Containers of a service on an engine (Docker Swarm's label, which both set), running or all. */
async function count(docker: Docker, service: string, running: boolean): Promise<number> {
  const list = await docker.listContainers({
    all: !running,
    filters: { label: [`com.docker.swarm.service.name=${service}`], ...(running ? { status: ['running'] } : {}) },
  });
  return list.length;
}

async function until(fn: () => Promise<boolean>, what: string, timeoutMs = 300_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!(await fn())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(POLL_MS);
  }
}

/** One orchestrator under test: how to create, update and remove a service on it. */
interface Orchestrator {
  engine: Docker;
  create(name: string, replicas: number): void;
  /** A rolling update that replaces every task: a new container label, 5 at a time. */
  update(name: string): void;
  rm(name: string): void;
}

const UPDATE_ARGS = ['-d', '--update-parallelism', '5', '--update-delay', '0s', '--container-label-add', 'rev=2'];

async function timeUpdate(o: Orchestrator, name: string, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  o.update(name);
  await until(async () => {
    const running = await o.engine.listContainers({
      filters: { label: [`com.docker.swarm.service.name=${name}`], status: ['running'] },
    });
    return running.length === n && running.every((c) => c.Labels.rev === '2');
  }, `${n} running containers of ${name} with the new label`);
  return ms(t0);
}

async function timeCreate(o: Orchestrator, name: string, n: number): Promise<number> {
  const t0 = process.hrtime.bigint();
  o.create(name, n);
  await until(async () => (await count(o.engine, name, true)) >= n, `${n} running containers of ${name}`);
  return ms(t0);
}

async function timeRm(o: Orchestrator, name: string): Promise<number> {
  const t0 = process.hrtime.bigint();
  o.rm(name);
  await until(async () => (await count(o.engine, name, false)) === 0, `no containers of ${name}`);
  return ms(t0);
}

/** The floor: the engine creating and starting n containers in parallel, then removing them. */
async function engineAlone(docker: Docker, n: number): Promise<{ create: number; rm: number }> {
  let t0 = process.hrtime.bigint();
  const cs = await Promise.all(
    Array.from({ length: n }, async (_, i) => {
      const c = await docker.createContainer({
        name: `floor.${i}`,
        Image: TEST_IMAGE,
        Cmd: ['sleep', '600'],
        Labels: { 'com.docker.swarm.service.name': 'floor' },
        HostConfig: { Init: true },
      });
      await c.start();
      return c;
    }),
  );
  const create = ms(t0);
  t0 = process.hrtime.bigint();
  await Promise.all(cs.map((c) => c.remove({ force: true })));
  return { create, rm: ms(t0) };
}

function ping(socketPath: string): Promise<boolean> {
  return new Promise((done) => {
    const req = request({ socketPath, path: '/_ping' }, (res) => (res.resume(), done(res.statusCode === 200)));
    req.on('error', () => done(false));
    req.end();
  });
}

/** A shoal daemon with the Docker executor on `engine`, in a swarm of its own. */
async function startShoal(
  engine: PrivateDockerd,
  dir: string,
): Promise<{ proc: ChildProcess; env: NodeJS.ProcessEnv }> {
  const sock = join(dir, 'shoal.sock');
  const proc = spawn(
    process.execPath,
    [
      RUN,
      'daemon',
      '--data-root',
      join(dir, 'data'),
      '--host',
      `unix://${sock}`,
      '--executor',
      'docker',
      '--docker-host',
      engine.host,
    ],
    { stdio: 'ignore' },
  );
  await until(() => ping(sock), 'the shoal daemon', 30_000);
  const env = { ...process.env, SHOAL_HOST: `unix://${sock}` };
  must(process.execPath, [RUN, 'swarm', 'init', '--advertise-addr', '127.0.0.1', '--listen-addr', '127.0.0.1:0'], env);
  return { proc, env };
}

export async function dockerBench(opts: DockerBenchOptions = {}): Promise<DockerBenchRow[] | { skipped: string }> {
  const skipped = dockerdSkipReason();
  if (skipped) return { skipped };
  const sizes = opts.replicas ?? [20, 50];
  const dir = mkdtempSync(join(tmpdir(), 'shoal-bench-docker-'));
  let shoalEngine: PrivateDockerd | undefined;
  let swarmEngine: PrivateDockerd | undefined;
  let shoal: ChildProcess | undefined;
  try {
    const swarmEnv0 = opts.swarmPreferOfflineImage ? { DOCKER_SERVICE_PREFER_OFFLINE_IMAGE: '1' } : {};
    [shoalEngine, swarmEngine] = await Promise.all([startDockerd('shoal-bd1-'), startDockerd('shoal-bd2-', swarmEnv0)]);
    // A free port for the swarm's manager API, so a Docker Swarm already on this host (:2377) is no obstacle.
    swarmEngine.mustDocker([
      'swarm',
      'init',
      '--advertise-addr',
      '127.0.0.1',
      '--listen-addr',
      `127.0.0.1:${await freePort()}`,
    ]);
    const started = await startShoal(shoalEngine, dir);
    shoal = started.proc;
    const shoalEnv = started.env;
    const swarmEnv = swarmEngine.env;

    const shoalO: Orchestrator = {
      engine: new Docker({ socketPath: shoalEngine.socket }),
      create: (name, n) =>
        must(
          process.execPath,
          [RUN, 'service', 'create', '-d', '--name', name, '--replicas', String(n), ...SERVICE_ARGS],
          shoalEnv,
        ),
      update: (name) => must(process.execPath, [RUN, 'service', 'update', ...UPDATE_ARGS, name], shoalEnv),
      rm: (name) => must(process.execPath, [RUN, 'service', 'rm', name], shoalEnv),
    };
    const swarmO: Orchestrator = {
      engine: new Docker({ socketPath: swarmEngine.socket }),
      // --no-resolve-image: no registry is asked for a digest (there is none to ask); shoal asks none either.
      create: (name, n) =>
        must(
          'docker',
          ['service', 'create', '-d', '--no-resolve-image', '--name', name, '--replicas', String(n), ...SERVICE_ARGS],
          swarmEnv,
        ),
      update: (name) => must('docker', ['service', 'update', '--no-resolve-image', ...UPDATE_ARGS, name], swarmEnv),
      rm: (name) => must('docker', ['service', 'rm', name], swarmEnv),
    };

    // Warm-up: the first container on an engine pays for things later ones do not (layers, cgroups).
    for (const o of [shoalO, swarmO]) {
      await timeCreate(o, 'warm', 2);
      await timeRm(o, 'warm');
    }

    const rows: DockerBenchRow[] = [];
    for (const n of sizes) {
      // Alternating, so neither always runs on a machine the other has just loaded.
      const createShoal = await timeCreate(shoalO, `b${n}`, n);
      const createSwarm = await timeCreate(swarmO, `b${n}`, n);
      await sleep(1000);
      const updateShoal = await timeUpdate(shoalO, `b${n}`, n);
      const updateSwarm = await timeUpdate(swarmO, `b${n}`, n);
      await sleep(1000);
      const rmShoal = await timeRm(shoalO, `b${n}`);
      const rmSwarm = await timeRm(swarmO, `b${n}`);
      const floor = await engineAlone(shoalO.engine, n);
      rows.push({
        replicas: n,
        createShoal,
        createSwarm,
        createEngine: floor.create,
        updateShoal,
        updateSwarm,
        rmShoal,
        rmSwarm,
        rmEngine: floor.rm,
      });
    }
    if (opts.print !== false) console.log(formatDockerBench(rows));
    return rows;
  } finally {
    if (shoal && shoal.exitCode === null) {
      const p = shoal;
      const exited = new Promise((r) => p.once('exit', r));
      p.kill('SIGTERM');
      await Promise.race([exited, sleep(10_000)]);
      if (p.exitCode === null) p.kill('SIGKILL');
    }
    await Promise.all([shoalEngine?.stop(), swarmEngine?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  }
}

export function formatDockerBench(rows: DockerBenchRow[]): string {
  const f = (x: number) => x.toFixed(0);
  const lines = [
    [
      'replicas',
      'create→running shoal',
      'Docker Swarm',
      'engine alone',
      'update→replaced shoal',
      'Docker Swarm',
      'rm→gone shoal',
      'Docker Swarm',
      'engine alone',
    ],
    ...rows.map((r) => [
      String(r.replicas),
      `${f(r.createShoal)} ms`,
      `${f(r.createSwarm)} ms`,
      `${f(r.createEngine)} ms`,
      `${f(r.updateShoal)} ms`,
      `${f(r.updateSwarm)} ms`,
      `${f(r.rmShoal)} ms`,
      `${f(r.rmSwarm)} ms`,
      `${f(r.rmEngine)} ms`,
    ]),
  ];
  const w = lines[0].map((_, i) => Math.max(...lines.map((l) => l[i].length)));
  return lines
    .map((l) =>
      l
        .map((c, i) => c.padEnd(w[i]))
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

if (require.main === module) {
  dockerBench({ swarmPreferOfflineImage: process.argv.includes('--swarm-prefer-offline-image') }).then(
    (r) => {
      if ('skipped' in r) console.log(`docker bench skipped: ${r.skipped}`);
    },
    (err) => {
      console.error(err);
      process.exitCode = 1;
    },
  );
}
