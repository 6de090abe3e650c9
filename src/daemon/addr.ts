// Node addresses as `swarm init` and `swarm join` take them: IP, IP:port or an interface name.
import { createServer } from 'node:net';
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

/**
 * Refuses an address this node cannot listen on (another swarm's port, a foreign IP) before `swarm init` creates
 * anything, with Go's text as Docker prints it: `listen tcp 0.0.0.0:2377: bind: address already in use`.
 */
export function checkListenAddr(addr: string): Promise<void> {
  const port = portOf(addr) ?? 2377;
  const given = hostOf(addr).replace(/^\[|\]$/g, '') || '0.0.0.0';
  const host = networkInterfaces()[given]?.find((a) => a.family === 'IPv4')?.address ?? given;
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', (err: NodeJS.ErrnoException) => {
      const why =
        err.code === 'EADDRINUSE'
          ? 'bind: address already in use'
          : err.code === 'EADDRNOTAVAIL'
            ? 'bind: cannot assign requested address'
            : err.message;
      reject(new ApiError(500, `listen tcp ${host}:${port}: ${why}`));
    });
    s.listen(port, host, () => s.close(() => resolve()));
  });
}
