import type { Service, Task } from '../types/swarm';
import { newId } from '../util/ids';
import { goTime } from '../util/time';

/** A new task for a slot (replicated) or a node (global), as swarmkit's orchestrator.NewTask makes it. */
export function newTask(service: Service, slot: number, nodeId = '', desired: 'running' | 'ready' = 'running'): Task {
  const now = goTime();
  return {
    ID: newId(),
    Version: {},
    CreatedAt: now,
    UpdatedAt: now,
    Labels: {},
    Spec: structuredClone(service.Spec.TaskTemplate),
    ServiceID: service.ID,
    Slot: slot,
    NodeID: nodeId,
    // No network allocator runs yet, so a new task goes straight to pending for the scheduler.
    Status: { Timestamp: now, State: 'pending', Message: 'pending task scheduling', PortStatus: {} },
    DesiredState: desired,
    Volumes: null,
  };
}
