// Flags shared by `swarm init`, `swarm update` and `swarm ca`, and how they land in the swarm
// spec (docker's cli/command/swarm/opts.go mergeSwarmSpec).
import { readFileSync } from 'node:fs';
import type { ExternalCA, SwarmSpec } from '../../types/swarm';
import { duration, int, list, uint, type FlagDefs, type FlagValues } from '../flags/define';
import { parseCsvRecord } from '../values/csv';

/** --external-ca protocol=cfssl,url=https://…[,cacert=file][,key=value…] */
export function parseExternalCA(spec: string): ExternalCA {
  const ca: ExternalCA = { Protocol: 'cfssl', URL: '', Options: {} };
  let hasProtocol = false;
  let hasUrl = false;
  for (const field of parseCsvRecord(spec)) {
    const eq = field.indexOf('=');
    if (eq === -1) throw new Error(`invalid field '${field}' must be a key=value pair`);
    const key = field.slice(0, eq);
    const value = field.slice(eq + 1);
    switch (key.toLowerCase()) {
      case 'protocol':
        hasProtocol = true;
        if (value.toLowerCase() !== 'cfssl') throw new Error(`unrecognized external CA protocol ${value}`);
        break;
      case 'url':
        hasUrl = true;
        ca.URL = value;
        break;
      case 'cacert': {
        let pem: string;
        try {
          pem = readFileSync(value, 'utf8');
        } catch (err) {
          throw new Error(`unable to read CA cert for external CA: ${(err as Error).message}`);
        }
        if (!pem.includes('-----BEGIN')) throw new Error('CA cert for external CA must be in PEM format');
        ca.CACert = pem;
        break;
      }
      default:
        ca.Options![key] = value;
    }
  }
  if (!hasProtocol) throw new Error('the external-ca option needs a protocol= parameter');
  if (!hasUrl) throw new Error('the external-ca option needs a url= parameter');
  return ca;
}

export const CA_FLAGS = {
  'cert-expiry': duration('Validity period for node certificates (ns|us|ms|s|m|h)', { default: '2160h0m0s' }),
  'external-ca': list('Specifications of one or more certificate signing endpoints', {
    validate: (v) => void parseExternalCA(v),
    valueName: 'external-ca',
  }),
} satisfies FlagDefs;

export const SWARM_FLAGS = {
  'task-history-limit': int('Task history retention limit', { default: '5' }),
  'dispatcher-heartbeat': duration('Dispatcher heartbeat period (ns|us|ms|s|m|h)', { default: '5s' }),
  'max-snapshots': uint('Number of additional Raft snapshots to retain'),
  'snapshot-interval': uint('Number of log entries between Raft snapshots', { default: '10000' }),
  ...CA_FLAGS,
} satisfies FlagDefs;

type SwarmFlags = FlagValues<typeof SWARM_FLAGS> & { autolock?: boolean };

/** mergeSwarmSpecCAFlags: --cert-expiry and --external-ca (whose CACert defaults to `caCert`). */
export function mergeCAFlags(
  spec: SwarmSpec,
  flags: FlagValues<typeof CA_FLAGS>,
  changed: ReadonlySet<string>,
  caCert?: string,
): void {
  if (changed.has('cert-expiry')) (spec.CAConfig ??= {}).NodeCertExpiry = flags['cert-expiry'];
  if (changed.has('external-ca')) {
    const cas = flags['external-ca'].map(parseExternalCA);
    if (caCert !== undefined) for (const ca of cas) if (!ca.CACert) ca.CACert = caCert;
    (spec.CAConfig ??= {}).ExternalCAs = cas;
  }
}

/** mergeSwarmSpec: only flags given on the command line change the spec. */
export function mergeSwarmSpec(
  spec: SwarmSpec,
  flags: SwarmFlags,
  changed: ReadonlySet<string>,
  caCert?: string,
): void {
  if (changed.has('task-history-limit'))
    (spec.Orchestration ??= {}).TaskHistoryRetentionLimit = flags['task-history-limit'];
  if (changed.has('dispatcher-heartbeat')) (spec.Dispatcher ??= {}).HeartbeatPeriod = flags['dispatcher-heartbeat'];
  if (changed.has('max-snapshots'))
    (spec.Raft ??= { ElectionTick: 0, HeartbeatTick: 0 }).KeepOldSnapshots = flags['max-snapshots'];
  if (changed.has('snapshot-interval'))
    (spec.Raft ??= { ElectionTick: 0, HeartbeatTick: 0 }).SnapshotInterval = flags['snapshot-interval'];
  if (changed.has('autolock'))
    (spec.EncryptionConfig ??= { AutoLockManagers: false }).AutoLockManagers = Boolean(flags.autolock);
  mergeCAFlags(spec, flags, changed, caCert);
}

/** The empty swarm.Spec the CLI sends with `swarm init`, in Go's JSON shape. */
export function emptySwarmSpec(): SwarmSpec {
  return {
    Labels: null,
    Orchestration: {},
    Raft: { ElectionTick: 0, HeartbeatTick: 0 },
    Dispatcher: {},
    CAConfig: {},
    TaskDefaults: {},
    EncryptionConfig: { AutoLockManagers: false },
  };
}

/** docker's printUnlockCommand. */
export function unlockCommandText(key: string): string {
  if (key === '') return '';
  return (
    'To unlock a swarm manager after it restarts, run the `shoal swarm unlock`\ncommand and provide the following key:\n\n' +
    `    ${key}\n\n` +
    'Remember to store this key in a password manager, since without it you\nwill not be able to restart the manager.\n'
  );
}

const AVAILABILITIES = ['active', 'pause', 'drain'];

/** --availability of init/join: lower-cased, one of active, pause, drain. */
export function parseAvailability(value: string): 'active' | 'pause' | 'drain' {
  const a = value.toLowerCase();
  if (!AVAILABILITIES.includes(a)) {
    throw new Error(`invalid availability ${JSON.stringify(value)}, only active, pause and drain are supported`);
  }
  return a as 'active' | 'pause' | 'drain';
}

/** opts.ParseTCPAddr for --listen-addr: `ip|interface[:port]`, default 0.0.0.0:2377. */
export function parseNodeAddr(value: string, defaultAddr = '0.0.0.0:2377'): string {
  if (value === '' || value === 'tcp://') return defaultAddr;
  const addr = value.replace(/^tcp:\/\//, '');
  if (addr.includes('://') || addr === '') throw new Error(`invalid proto, expected tcp: ${value}`);
  const [defHost, defPort] = [
    defaultAddr.slice(0, defaultAddr.lastIndexOf(':')),
    defaultAddr.slice(defaultAddr.lastIndexOf(':') + 1),
  ];
  let host: string;
  let port: string;
  const v6 = /^\[([^\]]*)\](?::(\d*))?$/.exec(addr);
  if (v6) {
    host = `[${v6[1]}]`;
    port = v6[2] ?? '';
  } else if ((addr.match(/:/g) ?? []).length > 1) {
    throw new Error(`invalid bind address format: ${value}`);
  } else {
    const colon = addr.lastIndexOf(':');
    host = colon === -1 ? addr : addr.slice(0, colon);
    port = colon === -1 ? '' : addr.slice(colon + 1);
  }
  if (port !== '' && !/^\d+$/.test(port)) throw new Error(`invalid bind address format: ${value}`);
  return `${host || defHost}:${port || defPort}`;
}

/** net.ParseCIDR(...).String() for --default-addr-pool: the network address and prefix length. */
export function normalizeCidr(value: string): string {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\/(\d{1,2})$/.exec(value);
  if (m) {
    const octets = m.slice(1, 5).map(Number);
    const bits = Number(m[5]);
    if (octets.every((o) => o <= 255) && bits <= 32) {
      const ip = octets.reduce((acc, o) => acc * 256 + o, 0);
      const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
      const net = (ip & mask) >>> 0;
      return `${[net >>> 24, (net >>> 16) & 255, (net >>> 8) & 255, net & 255].join('.')}/${bits}`;
    }
  } else if (/^[0-9a-fA-F:]+\/\d{1,3}$/.test(value)) {
    return value.toLowerCase();
  }
  throw new Error(`invalid CIDR address: ${value}`);
}
