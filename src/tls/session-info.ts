import type { TLSSocket } from 'node:tls';
import { tlsExporter, tlsServerEndPoint } from '../auth/sasl/channel-binding.js';
import { clientCertificateUser } from './client-certificate.js';

/** What a TLS session offers to authentication (SASL channel binding, EXTERNAL) and logs. */
export interface TlsSessionInfo {
  readonly protocol: string | null;
  readonly cipher: string;
  /** RFC 9266 tls-exporter channel binding; only on TLS 1.3. */
  readonly exporter?: () => Buffer;
  /** RFC 5929 tls-server-end-point channel binding. */
  readonly serverEndPoint?: Buffer;
  /** User named by a verified client certificate. */
  readonly clientCertUser?: string;
}

/**
 * What a session may learn of its TLS connection: for logs, channel binding and EXTERNAL.
 * The tls-server-end-point hash needs the server certificate parsed, which costs more than a
 * resumed handshake; only SCRAM-SHA-256-PLUS asks for it, so it is worked out on first use.
 */
export function tlsSessionInfo(socket: TLSSocket): TlsSessionInfo {
  const exporter = tlsExporter(socket);
  const clientCertUser = clientCertificateUser(socket);
  let serverEndPoint: Buffer | null | undefined;
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? 'unknown',
    ...(exporter ? { exporter } : {}),
    ...(clientCertUser ? { clientCertUser } : {}),
    get serverEndPoint(): Buffer | undefined {
      if (serverEndPoint === undefined) {
        const local = socket.getCertificate();
        const raw = local !== null && 'raw' in local && Buffer.isBuffer(local.raw) ? local.raw : undefined;
        serverEndPoint = raw === undefined ? null : (tlsServerEndPoint(raw) ?? null);
      }
      return serverEndPoint ?? undefined;
    },
  };
}
