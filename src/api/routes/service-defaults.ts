import type { Service } from '../../types/swarm';

const MONITOR = 5e9;
const UPDATE_DEFAULT = {
  Parallelism: 1,
  FailureAction: 'pause',
  Monitor: MONITOR,
  MaxFailureRatio: 0,
  Order: 'stop-first',
};

/** `insertDefaults=true`: swarmkit's api/defaults filled into what the spec leaves out (service inspect shows it). */
export function withDefaults(s: Service): Service {
  const out = structuredClone(s);
  const tt = out.Spec.TaskTemplate;
  const cs = (tt.ContainerSpec = tt.ContainerSpec ?? {});
  cs.StopGracePeriod = cs.StopGracePeriod ?? 10e9;
  cs.DNSConfig = cs.DNSConfig ?? {};
  tt.Resources = tt.Resources ?? { Limits: {}, Reservations: {} };
  tt.RestartPolicy = { Condition: 'any', Delay: 5e9, MaxAttempts: 0, ...(tt.RestartPolicy ?? {}) };
  tt.Placement = tt.Placement ?? {};
  out.Spec.UpdateConfig = out.Spec.UpdateConfig
    ? { Monitor: MONITOR, ...out.Spec.UpdateConfig }
    : (structuredClone(UPDATE_DEFAULT) as never);
  out.Spec.RollbackConfig = out.Spec.RollbackConfig
    ? { Monitor: MONITOR, ...out.Spec.RollbackConfig }
    : (structuredClone(UPDATE_DEFAULT) as never);
  return out;
}
