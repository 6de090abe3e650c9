import type { Node, TaskSpec } from '../types/swarm';

/** Whether a node can take a new task of this spec: availability and placement constraints. */
export function nodeEligible(n: Node, spec: TaskSpec): { ok: boolean; reason?: 'availability' | 'constraints' } {
  if (n.Spec.Availability !== 'active' || n.Status.State !== 'ready') return { ok: false, reason: 'availability' };
  for (const c of spec.Placement?.Constraints ?? []) {
    if (!constraintHolds(n, c)) return { ok: false, reason: 'constraints' };
  }
  return { ok: true };
}

/** One `key==value` or `key!=value` expression over node.id, node.hostname, node.role, node.labels.X, engine.labels.X. */
export function constraintHolds(n: Node, expr: string): boolean {
  const m = /^\s*([\w.-]+)\s*(==|!=)\s*(.*?)\s*$/.exec(expr);
  if (!m) return false;
  const [, key, op, want] = m;
  const k = key.toLowerCase();
  let have: string | undefined;
  if (k === 'node.id') have = n.ID;
  else if (k === 'node.hostname') have = n.Description.Hostname;
  else if (k === 'node.role') have = n.Spec.Role;
  else if (k === 'node.platform.os') have = n.Description.Platform.OS;
  else if (k === 'node.platform.arch') have = n.Description.Platform.Architecture;
  else if (k.startsWith('node.labels.')) have = n.Spec.Labels?.[key.slice('node.labels.'.length)];
  else if (k.startsWith('engine.labels.')) have = n.Description.Engine.Labels?.[key.slice('engine.labels.'.length)];
  // Values compare case-insensitively except labels, as swarmkit's constraint package does.
  const eq = have !== undefined && (k.includes('labels.') ? have === want : have.toLowerCase() === want.toLowerCase());
  return op === '==' ? eq : !eq;
}
