// A bare TLS handshake against a server, to see what it accepts and which certificate it presents.
import * as tls from 'node:tls';

export interface ProbeResult {
  ok: boolean;
  error?: Error;
  protocol?: string | null;
  cipher?: string;
  serverCert?: tls.PeerCertificate;
}

export function probe(port: number, opts: tls.ConnectionOptions = {}): Promise<ProbeResult> {
  return new Promise((resolve) => {
    const sock = tls.connect({
      host: '127.0.0.1',
      port,
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      servername: 'swarm-manager',
      ...opts,
    });
    const timer = setTimeout(() => sock.destroy(new Error('timed out')), 5000);
    sock.once('secureConnect', () => {
      clearTimeout(timer);
      const r: ProbeResult = {
        ok: true,
        protocol: sock.getProtocol(),
        cipher: sock.getCipher().name,
        serverCert: sock.getPeerCertificate(),
      };
      sock.destroy();
      resolve(r);
    });
    sock.once('error', (error) => {
      clearTimeout(timer);
      resolve({ ok: false, error });
    });
  });
}
