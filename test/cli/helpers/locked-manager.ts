// A locked manager on a FakeDaemon, for `swarm unlock` and `swarm unlock-key` tests: /info says
// `locked` and carries the cluster ID (as shoal's daemon does), POST /swarm/unlock checks the key
// the way moby does (state, then format, then the key itself), and `swarm update` can rotate it.
import { randomBytes } from 'node:crypto';
import type { FakeDaemon } from './fake-daemon';

export const KEY_PREFIX = 'SWMKEY-1-';
export const MSG = {
  invalidKey: 'swarm could not be unlocked: invalid key provided',
  invalidKeyString: 'invalid key string',
  notLocked: 'swarm is not locked',
  notPartOfSwarm: 'This node is not part of a swarm',
  locked:
    'Swarm is encrypted and needs to be unlocked before it can be used. Please use "docker swarm unlock" to unlock it.',
};

/** A key as swarmkit makes one: SWMKEY-1- and 32 random bytes in unpadded standard base64. */
export function makeUnlockKey(): string {
  return KEY_PREFIX + randomBytes(32).toString('base64').replace(/=+$/, '');
}

/** swarmkit's ParseHumanReadableKey: the prefix, then base64.RawStdEncoding. */
export function isKeyString(key: string): boolean {
  if (!key.startsWith(KEY_PREFIX)) return false;
  const b64 = key.slice(KEY_PREFIX.length);
  return /^[A-Za-z0-9+/]*$/.test(b64) && b64.length % 4 !== 1;
}

export type NodeState = 'inactive' | 'pending' | 'active' | 'locked' | 'error';

export class LockedManager {
  state: NodeState = 'locked';
  key = makeUnlockKey();
  autolock = true;
  readonly clusterId = 'ct' + randomBytes(12).toString('hex').slice(0, 23);
  readonly nodeId = 'nd' + randomBytes(12).toString('hex').slice(0, 23);
  /** false: /info leaves the cluster ID out while locked, as docker's daemon does. */
  reportClusterId = true;
  /** Every UnlockKey POST /swarm/unlock received, in order. */
  readonly attempts: string[] = [];
  private version = 10;

  constructor(readonly d: FakeDaemon) {
    d.on('GET', '/info', () => ({ body: this.info() }));
    d.on('POST', '/swarm/unlock', (req) => {
      const key = String((req.json as { UnlockKey?: unknown } | undefined)?.UnlockKey ?? '');
      this.attempts.push(key);
      if (this.state === 'inactive') return error(503, MSG.notPartOfSwarm);
      if (this.state !== 'locked') return error(409, MSG.notLocked);
      if (!isKeyString(key)) return error(400, MSG.invalidKeyString);
      if (key !== this.key) return error(401, MSG.invalidKey);
      this.state = 'active';
      return { status: 200 };
    });
    d.on('GET', '/swarm', () => (this.state === 'locked' ? error(503, MSG.locked) : { body: this.swarm() }));
    d.on('GET', '/swarm/unlockkey', () =>
      this.state === 'locked' ? error(503, MSG.locked) : { body: { UnlockKey: this.autolock ? this.key : '' } },
    );
    d.on('POST', '/swarm/update', (req) => {
      if (this.state === 'locked') return error(503, MSG.locked);
      const spec = req.json as { EncryptionConfig?: { AutoLockManagers?: boolean } };
      this.autolock = !!spec.EncryptionConfig?.AutoLockManagers;
      if (req.query.get('rotateManagerUnlockKey') === 'true' && this.autolock) this.key = makeUnlockKey();
      this.version++;
      return { status: 200 };
    });
  }

  info(): object {
    const withCluster = this.state !== 'inactive' && (this.state !== 'locked' || this.reportClusterId);
    return {
      ID: 'engine-id',
      Swarm: {
        NodeID: this.state === 'inactive' || !withCluster ? '' : this.nodeId,
        NodeAddr: '',
        LocalNodeState: this.state,
        ControlAvailable: this.state === 'active',
        Error: '',
        RemoteManagers: null,
        ...(withCluster ? { Cluster: { ID: this.clusterId } } : {}),
      },
    };
  }

  swarm(): object {
    return {
      ID: this.clusterId,
      Version: { Index: this.version },
      Spec: { Name: 'default', EncryptionConfig: { AutoLockManagers: this.autolock } },
      JoinTokens: { Worker: 'SWMTKN-1-w', Manager: 'SWMTKN-1-m' },
    };
  }
}

function error(status: number, message: string): { status: number; body: { message: string } } {
  return { status, body: { message } };
}
