// For `--executor auto`: whether a Docker Engine answers at the docker host. A shoal daemon answers
// the same /_ping and /version, so one that names itself shoal is not taken for an engine.

import { connectEngine } from './engine';
import type { DockerHost } from './engine';

const PROBE_TIMEOUT_MS = 2000;

/** The engine's version if a Docker Engine answers at `host` within 2 s, else undefined. */
export async function probeEngine(host: DockerHost): Promise<string | undefined> {
  try {
    const docker = connectEngine(host, PROBE_TIMEOUT_MS);
    const v = (await docker.version()) as {
      Version?: string;
      Platform?: { Name?: string };
      Components?: { Name?: string }[];
    };
    const isShoal = v.Platform?.Name === 'shoal' || !!v.Components?.some((c) => c.Name === 'shoal');
    return isShoal ? undefined : (v.Version ?? '');
  } catch {
    return undefined;
  }
}
