import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { tlsExporter, tlsServerEndPoint } from '../auth/sasl/channel-binding.js';
import type { TlsSessionInfo } from '../pop3/transport.js';
import { clientCertificateUser } from './client-certificate.js';

/**
 * What a session may learn of its TLS connection: for logs, channel binding and EXTERNAL.
 * The tls-server-end-point hash needs the server certificate parsed, which costs more than a
 * resumed handshake; only SCRAM-SHA-256-PLUS asks for it, so it is worked out on first use.
 */
export function tlsSessionInfo(socket: TLSSocket, clientCas: readonly X509Certificate[] = []): TlsSessionInfo {
  const exporter = tlsExporter(socket);
  const clientCertUser = clientCas.length > 0 ? clientCertificateUser(socket, clientCas) : undefined;
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
