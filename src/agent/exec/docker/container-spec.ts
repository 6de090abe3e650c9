// A task's ContainerSpec and resources as the Docker Engine's container create request, after
// moby's daemon/cluster/executor/container/container.go: the same container name, labels, entrypoint
// and command split, mounts, resources and privileges, so that `docker ps` and `docker inspect` show
// a shoal task as they show a Docker Swarm task.

import { isAbsolute } from 'node:path';
import type Docker from 'dockerode';
import type { ContainerSpec, Mount, Task } from '../../../types/swarm';
import { imageWithTag } from '../../../cli/service/image-ref';
import { TaskRejectedError } from '../executor';

/** The labels Docker Swarm puts on a task's container; shoal finds its containers again by them. */
export const LABEL = {
  task: 'com.docker.swarm.task',
  taskId: 'com.docker.swarm.task.id',
  taskName: 'com.docker.swarm.task.name',
  nodeId: 'com.docker.swarm.node.id',
  serviceId: 'com.docker.swarm.service.id',
  serviceName: 'com.docker.swarm.service.name',
} as const;

/** swarmkit's ErrImageRequired. */
export const IMAGE_REQUIRED = 'dockerexec: image required';

/** `<service>.<slot>.<task id>`; a global service's task (no slot) uses the node ID instead, as swarmkit does. */
export function containerName(task: Task, serviceName: string): string {
  if (task.Name) return task.Name;
  const slot = task.Slot ? String(task.Slot) : task.NodeID;
  return `${serviceName}.${slot}.${task.ID}`;
}

/** The spec's labels, then the task's, then the system labels, which override both. */
export function containerLabels(task: Task, serviceName: string): Record<string, string> {
  return {
    ...(task.Spec.ContainerSpec?.Labels ?? {}),
    ...(task.Labels ?? {}),
    [LABEL.task]: '',
    [LABEL.taskId]: task.ID,
    [LABEL.taskName]: containerName(task, serviceName),
    [LABEL.nodeId]: task.NodeID,
    [LABEL.serviceId]: task.ServiceID,
    [LABEL.serviceName]: serviceName,
  };
}

/** The image as swarmkit gives it to the engine: a name alone gets `:latest`, so a pull never fetches every tag. */
export function imageRef(image: string): string {
  return imageWithTag(image);
}

/** swarmkit's validateMounts: the checks made before any engine call, which reject the task. */
function checkMounts(mounts: Mount[]): void {
  for (const m of mounts) {
    if (!isAbsolute(m.Target ?? ''))
      throw new TaskRejectedError(`invalid mount target, must be an absolute path: ${m.Target}`);
    switch (m.Type) {
      case 'bind':
        if (!isAbsolute(m.Source ?? ''))
          throw new TaskRejectedError(`invalid bind mount source, must be an absolute path: ${m.Source ?? ''}`);
        break;
      case 'volume':
        if (m.Source && isAbsolute(m.Source))
          throw new TaskRejectedError(`invalid volume mount source, must not be an absolute path: ${m.Source}`);
        break;
      case 'tmpfs':
        if (m.Source) throw new TaskRejectedError('invalid tmpfs source, source must be empty');
        break;
      default:
        throw new TaskRejectedError(`invalid mount type: ${m.Type}`);
    }
  }
}

/** The engine's mount shape is the swarm API's: only the fields it knows are passed on. */
function engineMount(m: Mount): Record<string, unknown> {
  const out: Record<string, unknown> = { Type: m.Type, Source: m.Source ?? '', Target: m.Target };
  if (m.ReadOnly) out.ReadOnly = true;
  for (const k of ['Consistency', 'BindOptions', 'VolumeOptions', 'TmpfsOptions'] as const) {
    if (m[k] !== undefined && m[k] !== null) out[k] = m[k];
  }
  return out;
}

/** swarm's `IP host [aliases…]` entries as the engine's `host:IP` (aliases are dropped, as swarmkit does). */
function extraHosts(hosts: string[] | undefined): string[] | undefined {
  const out: string[] = [];
  for (const entry of hosts ?? []) {
    const parts = entry.trim().split(/\s+/);
    if (parts.length > 1) out.push(`${parts[1]}:${parts[0]}`);
  }
  return out.length ? out : undefined;
}

/** StopGracePeriod in whole seconds, as the engine takes it (swarmkit truncates too); undefined → the engine's 10 s. */
export function stopTimeoutSeconds(spec: ContainerSpec | undefined): number | undefined {
  const ns = spec?.StopGracePeriod;
  return ns === undefined || ns === null ? undefined : Math.max(0, Math.floor(ns / 1e9));
}

/** Throws TaskRejectedError for a spec the engine cannot be asked to run (swarmkit's newContainerConfig checks). */
export function createOptions(task: Task, serviceName: string): Docker.ContainerCreateOptions {
  const c = task.Spec.ContainerSpec;
  if (!c?.Image) throw new TaskRejectedError(IMAGE_REQUIRED);
  checkMounts(c.Mounts ?? []);
  const extra = c as ContainerSpec & {
    CapabilityAdd?: string[];
    CapabilityDrop?: string[];
    Sysctls?: Record<string, string>;
    Ulimits?: { Name: string; Soft: number; Hard: number }[];
    OomScoreAdj?: number;
  };

  const opts: Docker.ContainerCreateOptions = {
    name: containerName(task, serviceName),
    Image: imageRef(c.Image),
    Labels: containerLabels(task, serviceName),
    Env: c.Env ?? [],
  };
  // Command replaces the image's entrypoint and Args its cmd; Args alone go to the image's entrypoint.
  if (c.Command?.length) {
    opts.Entrypoint = [...c.Command];
    if (c.Args?.length) opts.Cmd = [...c.Args];
  } else if (c.Args?.length) {
    opts.Cmd = [...c.Args];
  }
  if (c.Dir) opts.WorkingDir = c.Dir;
  if (c.User) opts.User = c.User;
  if (c.Hostname) opts.Hostname = c.Hostname;
  if (c.StopSignal) opts.StopSignal = c.StopSignal;
  const stopTimeout = stopTimeoutSeconds(c);
  // Docker Swarm passes the grace period to each stop call only; setting it on the container too means
  // a `docker stop` by hand, or the engine's own shutdown, gives the task the same grace.
  if (stopTimeout !== undefined) opts.StopTimeout = stopTimeout;
  if (c.TTY) opts.Tty = true;
  if (c.OpenStdin) opts.OpenStdin = true;
  if (c.Healthcheck) {
    const h = c.Healthcheck;
    opts.Healthcheck = {
      Test: h.Test,
      Interval: h.Interval,
      Timeout: h.Timeout,
      StartPeriod: h.StartPeriod,
      Retries: h.Retries,
      ...(h.StartInterval ? { StartInterval: h.StartInterval } : {}),
    } as Docker.HealthConfig;
  }

  const limits = task.Spec.Resources?.Limits;
  const host: Docker.HostConfig = {
    Mounts: (c.Mounts ?? []).map(engineMount) as unknown as Docker.MountConfig,
    ReadonlyRootfs: !!c.ReadOnly,
  };
  if (limits?.NanoCPUs && limits.NanoCPUs > 0) host.NanoCpus = limits.NanoCPUs;
  if (limits?.MemoryBytes && limits.MemoryBytes > 0) host.Memory = limits.MemoryBytes;
  if (limits?.Pids && limits.Pids > 0) host.PidsLimit = limits.Pids;
  if (c.Init !== undefined && c.Init !== null) host.Init = c.Init;
  if (c.Groups?.length) host.GroupAdd = c.Groups;
  if (c.DNSConfig) {
    if (c.DNSConfig.Nameservers) host.Dns = c.DNSConfig.Nameservers;
    if (c.DNSConfig.Search) host.DnsSearch = c.DNSConfig.Search;
    if (c.DNSConfig.Options) host.DnsOptions = c.DNSConfig.Options;
  }
  const hosts = extraHosts(c.Hosts);
  if (hosts) host.ExtraHosts = hosts;
  if (c.Isolation && c.Isolation !== 'default') host.Isolation = c.Isolation;
  if (extra.CapabilityAdd?.length) host.CapAdd = extra.CapabilityAdd;
  if (extra.CapabilityDrop?.length) host.CapDrop = extra.CapabilityDrop;
  if (extra.Sysctls && Object.keys(extra.Sysctls).length) host.Sysctls = extra.Sysctls;
  if (extra.Ulimits?.length) host.Ulimits = extra.Ulimits;
  if (extra.OomScoreAdj) host.OomScoreAdj = extra.OomScoreAdj;
  const log = task.Spec.LogDriver;
  if (log?.Name) host.LogConfig = { Type: log.Name, Config: log.Options ?? {} };
  opts.HostConfig = host;
  return opts;
}
