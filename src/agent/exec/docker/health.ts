// A container's healthcheck as swarmkit reads it: the task becomes `running` only once the container
// is healthy (controller.Start), and a container that turns unhealthy later is stopped and its task
// fails with "unhealthy container" as the cause (controller.Wait / checkHealth).

import type Docker from 'dockerode';
import { TaskStartError, exitError } from '../executor';
import type { ContainerEvents, ContainerSignal } from './events';

/** swarmkit's ErrContainerUnhealthy and ErrContainerDestroyed. */
export const UNHEALTHY = 'dockerexec: unhealthy container';
export const DESTROYED = 'dockerexec: container destroyed';

/** Whether the container has a healthcheck: its own, or the image's that the engine merged in. */
export function hasHealthcheck(config: { Healthcheck?: { Test?: string[] } } | undefined): boolean {
  const test = config?.Healthcheck?.Test;
  return !!test?.length && test[0] !== 'NONE';
}

/** What the health loops need of the container. */
export interface HealthTarget {
  /** Rejects with the engine's 404 if the container is gone. */
  inspect(): Promise<Docker.ContainerInspectInfo>;
  /** Stops the container gracefully (stop signal, grace period, then SIGKILL); resolves once it has stopped. */
  stop(): Promise<void>;
}

type HealthEvent = 'healthy' | 'unhealthy' | 'die' | 'destroy';

/** Reads an event, or after a resync the container's state, as the health event it amounts to. */
async function read(signal: ContainerSignal, target: HealthTarget): Promise<HealthEvent | undefined> {
  if (signal.kind === 'event') {
    const action = signal.event.Action;
    if (action === 'die' || action === 'destroy') return action;
    if (action.startsWith('health_status')) {
      const status = action.slice(action.indexOf(':') + 1).trim();
      return status === 'healthy' || status === 'unhealthy' ? status : undefined;
    }
    return undefined;
  }
  let info: Docker.ContainerInspectInfo;
  try {
    info = await target.inspect();
  } catch {
    return 'destroy';
  }
  if (!info.State.Running) return 'die';
  const status = info.State.Health?.Status;
  return status === 'healthy' || status === 'unhealthy' ? status : undefined;
}

/**
 * After the engine started the container: resolves once it is healthy. Throws TaskStartError if it
 * dies first with a non-zero code (with "unhealthy container" as the cause if it was stopped for
 * being unhealthy); a clean exit before any verdict resolves, and wait() then reports it.
 */
export async function untilHealthy(events: ContainerEvents, target: HealthTarget): Promise<void> {
  let cause: string | undefined;
  for (;;) {
    const ev = await read(await events.next(), target);
    if (ev === 'healthy') return;
    if (ev === 'destroy') throw new TaskStartError(DESTROYED);
    if (ev === 'unhealthy' && !cause) {
      cause = UNHEALTHY;
      await target.stop();
    } else if (ev === 'die') {
      let code: number;
      try {
        code = (await target.inspect()).State.ExitCode;
      } catch {
        throw new TaskStartError(DESTROYED);
      }
      if (code !== 0) throw new TaskStartError(exitError({ exitCode: code, cause })!);
      return;
    }
  }
}

/**
 * While the task runs: once the container turns unhealthy, calls `onUnhealthy` (so the exit that
 * follows is reported with its cause) and stops the container. Runs until `events` is closed.
 */
export async function watchHealth(
  events: ContainerEvents,
  target: HealthTarget,
  onUnhealthy: () => void,
): Promise<void> {
  for (;;) {
    const ev = await read(await events.next(), target);
    if (ev === 'unhealthy') {
      onUnhealthy();
      await target.stop();
      return;
    }
    if (ev === 'die' || ev === 'destroy') return;
  }
}
