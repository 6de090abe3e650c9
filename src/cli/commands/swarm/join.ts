import { BaseCommand } from '../../base-command';
import { CliError } from '../../errors';
import { str, toOclifFlags } from '../../flags/define';
import { parseAvailability, parseNodeAddr } from '../../swarm/opts';
import type { JoinRequest } from '../../../types/swarm';

const FLAGS = {
  'listen-addr': str('Listen address (format: "<ip|interface>[:port]")', {
    default: '0.0.0.0:2377',
    valueName: 'node-addr',
    validate: (v) => void parseNodeAddr(v),
  }),
  'advertise-addr': str('Advertised address (format: "<ip|interface>[:port]")'),
  'data-path-addr': str('Address or interface to use for data path traffic (format: "<ip|interface>")'),
  token: str('Token for entry into the swarm'),
  availability: str('Availability of the node ("active", "pause", "drain")', { default: 'active' }),
};

export default class SwarmJoin extends BaseCommand {
  static override summary = 'Join a swarm as a node and/or manager';
  static override usage = 'swarm join [OPTIONS] HOST:PORT';
  static override flags = toOclifFlags(FLAGS);

  async run(): Promise<void> {
    const { flags, changed, args } = this.parse(FLAGS, { min: 1, max: 1 });
    const req: JoinRequest = {
      ListenAddr: parseNodeAddr(flags['listen-addr']),
      AdvertiseAddr: flags['advertise-addr'],
      DataPathAddr: flags['data-path-addr'],
      RemoteAddrs: [args[0]],
      JoinToken: flags.token,
      Availability: '',
    };
    if (changed.has('availability')) {
      try {
        req.Availability = parseAvailability(flags.availability);
      } catch (err) {
        throw new CliError((err as Error).message);
      }
    }
    await this.client.swarmJoin(req);
    const info = await this.client.info();
    this.print(`This node joined a swarm as a ${info.Swarm?.ControlAvailable ? 'manager' : 'worker'}.`);
  }
}
