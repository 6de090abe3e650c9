// Node addresses as `swarm init` and `swarm join` take them: IP, IP:port or an interface name.
import { networkInterfaces } from 'node:os';
import { ApiError } from '../api/errors';

export function portOf(addr: string | undefined): number | undefined {
  const m = /:(\d+)$/.exec(addr ?? '');
  return m ? Number(m[1]) : undefined;
}

export function hostOf(addr: string): string {
  return addr.replace(/:(\d+)$/, '');
}

/** The address other nodes reach this one at: as given (IP, IP:port or interface name), else the first external IPv4. */
export function advertiseAddr(given: string | undefined, port: number): { ip: string; port: number } {
  const ifs = networkInterfaces();
  if (given) {
    const p = portOf(given) ?? port;
    const host = hostOf(given);
    const iface = ifs[host]?.find((a) => a.family === 'IPv4');
    if (iface) return { ip: iface.address, port: p };
    if (!/^[\d.]+$|^[0-9a-f:]+$/i.test(host))
      throw new ApiError(
        400,
        `advertise address must be a non-zero IP address or network interface (with optional port number)`,
      );
    return { ip: host, port: p };
  }
  for (const list of Object.values(ifs)) {
    const a = list?.find((x) => x.family === 'IPv4' && !x.internal);
    if (a) return { ip: a.address, port };
  }
  return { ip: '127.0.0.1', port };
}
