import { cpus, hostname, release, totalmem, type as osType } from 'node:os';
import type { Router } from '../router';
import { writeJson } from '../http';
import { API_VERSION, MIN_API_VERSION } from '../version';
import type { ApiContext } from '../context';
import { goTime } from '../../util/time';

export function systemRoutes(r: Router, ctx: ApiContext): void {
  const ping =
    (head: boolean) =>
    ({ res }: { res: import('node:http').ServerResponse }) => {
      res.writeHead(200, {
        'Content-Type': 'text/plain; charset=utf-8',
        'Content-Length': head ? 0 : 2,
        'Cache-Control': 'no-cache, no-store, must-revalidate',
        Pragma: 'no-cache',
        'Builder-Version': '2',
        Swarm: ctx.node.state === 'active' ? `active/${ctx.node.manager ? 'manager' : 'worker'}` : ctx.node.state,
      });
      res.end(head ? undefined : 'OK');
    };
  r.add('HEAD', '/_ping', ping(true));
  r.add('GET', '/_ping', ping(false));

  r.add('GET', '/version', ({ res }) =>
    writeJson(res, 200, {
      Platform: { Name: 'shoal' },
      Components: [
        { Name: 'shoal', Version: ctx.version, Details: { ApiVersion: API_VERSION, Executor: ctx.executorName } },
      ],
      Version: ctx.version,
      ApiVersion: API_VERSION,
      MinAPIVersion: MIN_API_VERSION,
      GitCommit: '',
      GoVersion: `node${process.versions.node}`,
      Os: 'linux',
      Arch: process.arch === 'x64' ? 'amd64' : process.arch,
      KernelVersion: release(),
      Experimental: false,
      BuildTime: '',
    }),
  );

  r.add('GET', '/info', ({ res }) => {
    const m = ctx.node.manager;
    const tasks = m ? m.store.list('tasks').filter((t) => t.NodeID === ctx.node.nodeId) : [];
    const running = tasks.filter((t) => t.Status.State === 'running').length;
    writeJson(res, 200, {
      ID: ctx.daemonId,
      Containers: tasks.length,
      ContainersRunning: running,
      ContainersPaused: 0,
      ContainersStopped: tasks.length - running,
      Images: 0,
      Driver: 'shoal',
      DriverStatus: [],
      Plugins: { Volume: [], Network: [], Authorization: null, Log: [] },
      MemoryLimit: false,
      SwapLimit: false,
      CpuCfsPeriod: false,
      CpuCfsQuota: false,
      CPUShares: false,
      CPUSet: false,
      PidsLimit: false,
      IPv4Forwarding: false,
      Debug: false,
      NFd: 0,
      OomKillDisable: false,
      NGoroutines: 0,
      SystemTime: goTime(),
      LoggingDriver: 'json-file',
      CgroupDriver: 'none',
      CgroupVersion: '',
      NEventsListener: 0,
      KernelVersion: release(),
      OperatingSystem: osType(),
      OSVersion: '',
      OSType: 'linux',
      Architecture: process.arch === 'x64' ? 'x86_64' : process.arch,
      IndexServerAddress: '',
      RegistryConfig: { IndexConfigs: {}, InsecureRegistryCIDRs: [], Mirrors: null },
      NCPU: cpus().length,
      MemTotal: totalmem(),
      GenericResources: null,
      DockerRootDir: ctx.dataRoot,
      HttpProxy: '',
      HttpsProxy: '',
      NoProxy: '',
      Name: hostname(),
      Labels: [],
      ExperimentalBuild: false,
      ServerVersion: ctx.version,
      Runtimes: {},
      DefaultRuntime: '',
      Swarm: ctx.node.info(),
      LiveRestoreEnabled: false,
      Isolation: '',
      InitBinary: '',
      ContainerdCommit: { ID: '' },
      RuncCommit: { ID: '' },
      InitCommit: { ID: '' },
      SecurityOptions: [],
      CDISpecDirs: [],
      Warnings: null,
      Executor: ctx.executorName,
    });
  });
}
