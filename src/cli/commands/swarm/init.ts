import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { bool, list, str, uint, toOclifFlags } from '../../flags/define';
import { daemonAnswers, startDaemon } from '../../daemon-autostart';
import { printJoinCommand } from '../../swarm/join-command';
import {
  SWARM_FLAGS,
  emptySwarmSpec,
  mergeSwarmSpec,
  normalizeCidr,
  parseAvailability,
  parseNodeAddr,
  unlockCommandText,
} from '../../swarm/opts';
import { DaemonError } from '../../../client/api-client';
import type { InitRequest } from '../../../types/swarm';

const FLAGS = {
  'listen-addr': str('Listen address (format: "<ip|interface>[:port]")', {
    default: '0.0.0.0:2377',
    valueName: 'node-addr',
    validate: (v) => void parseNodeAddr(v),
  }),
  'advertise-addr': str('Advertised address (format: "<ip|interface>[:port]")'),
  'data-path-addr': str('Address or interface to use for data path traffic (format: "<ip|interface>")'),
  'data-path-port': uint(
    'Port number to use for data path traffic (1024 - 49151). If no value is set or is set to 0, the default port (4789) is used.',
  ),
  'force-new-cluster': bool('Force create a new cluster from current state'),
  autolock: bool('Enable manager autolocking (requiring an unlock key to start a stopped manager)'),
  availability: str('Availability of the node ("active", "pause", "drain")', { default: 'active' }),
  'default-addr-pool': list('default address pool in CIDR format', {
    valueName: 'ipNetSlice',
    validate: (v) => v.split(',').forEach(normalizeCidr),
  }),
  'default-addr-pool-mask-length': uint('default address pool subnet mask length', { default: '24' }),
  ...SWARM_FLAGS,
};

const ADDRESS_ERRORS = ['could not choose an IP address to advertise', "could not find the system's IP address"];

export default class SwarmInit extends BaseCommand {
  static override summary = 'Initialize a swarm';
  static override description =
    'Initialize a swarm. If no shoal daemon answers on the socket, one is started in the background first.';
  static override usage = 'swarm init [OPTIONS]';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, changed } = this.parse(FLAGS, { max: 0 });
    const spec = emptySwarmSpec();
    mergeSwarmSpec(spec, flags, changed);
    const req: InitRequest = {
      ListenAddr: parseNodeAddr(flags['listen-addr']),
      AdvertiseAddr: flags['advertise-addr'],
      DataPathAddr: flags['data-path-addr'],
      DataPathPort: flags['data-path-port'] ?? 0,
      ForceNewCluster: flags['force-new-cluster'],
      Spec: spec,
      AutoLockManagers: flags.autolock,
      Availability: '',
      DefaultAddrPool: flags['default-addr-pool'].flatMap((v) => v.split(',')).map(normalizeCidr),
      SubnetSize: flags['default-addr-pool-mask-length'] ?? 24,
    };
    if (changed.has('availability')) {
      try {
        req.Availability = parseAvailability(flags.availability);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    }

    if (!(await daemonAnswers(this.client))) {
      const { dataRoot, logPath } = await startDaemon(this.client, this.env);
      this.printErr(`Started the shoal daemon in the background (data root ${dataRoot}, log ${logPath}).`);
    }

    let nodeId: string;
    try {
      nodeId = await this.client.swarmInit(req);
    } catch (err) {
      if (err instanceof DaemonError && ADDRESS_ERRORS.some((t) => err.message.includes(t))) {
        throw new CliError(`${err.message} - specify one with --advertise-addr`);
      }
      throw err;
    }
    this.print(`Swarm initialized: current node (${nodeId}) is now a manager.\n`);
    this.write(await printJoinCommand(this.client, nodeId, 'worker'));
    this.print("To add a manager to this swarm, run 'shoal swarm join-token manager' and follow the instructions.");
    if (req.AutoLockManagers) {
      let key: string;
      try {
        key = (await this.client.swarmUnlockKey()).UnlockKey;
      } catch (err) {
        throw new CliError(`could not fetch unlock key: ${(err as Error).message}`);
      }
      this.write(unlockCommandText(key));
    }
  }
}
