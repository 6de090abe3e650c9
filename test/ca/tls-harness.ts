// A real TLS round trip between a node:tls server and client on loopback, reporting who gave up and why.
import * as tls from 'node:tls';
import type { AddressInfo } from 'node:net';

export interface HandshakeResult {
  /** The client received the server's greeting, i.e. both sides accepted each other. */
  ok: boolean;
  clientError?: Error;
  serverError?: Error;
  /** The client certificate as the server saw it, when the server accepted the connection. */
  serverSawPeer?: tls.PeerCertificate;
}

/**
 * With TLS 1.3 the client can finish its side of the handshake before the server has checked the client
 * certificate, so "handshake succeeded" here means the client actually got application data back.
 */
export async function tryHandshake(
  serverOpts: tls.TlsOptions,
  clientOpts: tls.ConnectionOptions,
  timeoutMs = 5000,
): Promise<HandshakeResult> {
  const result: HandshakeResult = { ok: false };
  let serverDone!: () => void;
  const serverOutcome = new Promise<void>((r) => (serverDone = r));
  const server = tls.createServer(serverOpts, (sock) => {
    result.serverSawPeer = sock.getPeerCertificate();
    sock.on('error', () => undefined);
    sock.end('hello');
    serverDone();
  });
  server.on('tlsClientError', (err) => {
    result.serverError = err;
    serverDone();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as AddressInfo;
  try {
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        client.destroy(new Error('timed out'));
      }, timeoutMs);
      let data = '';
      const client = tls.connect({ host: '127.0.0.1', port, ...clientOpts });
      client.setEncoding('utf8');
      client.on('data', (d: string) => (data += d));
      client.on('error', (err) => (result.clientError = err));
      client.on('close', () => {
        clearTimeout(timer);
        result.ok = data === 'hello';
        resolve();
      });
    });
    // The server's verdict may land just after the client hung up.
    await Promise.race([serverOutcome, new Promise((r) => setTimeout(r, 500))]);
  } finally {
    await new Promise((r) => server.close(r));
  }
  return result;
}
