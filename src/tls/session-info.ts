import type { X509Certificate } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import { tlsExporter, tlsServerEndPoint } from '../auth/sasl/channel-binding.js';
import type { TlsSessionInfo } from '../pop3/transport.js';
import { clientCertificateUser } from './client-certificate.js';

/** What a session may learn of its TLS connection: for logs, channel binding and EXTERNAL. */
export function tlsSessionInfo(socket: TLSSocket, clientCas: readonly X509Certificate[] = []): TlsSessionInfo {
  const local = socket.getCertificate();
  const raw = local !== null && 'raw' in local && Buffer.isBuffer(local.raw) ? local.raw : undefined;
  const serverEndPoint = raw === undefined ? undefined : tlsServerEndPoint(raw);
  const exporter = tlsExporter(socket);
  const clientCertUser = clientCas.length > 0 ? clientCertificateUser(socket, clientCas) : undefined;
  return {
    protocol: socket.getProtocol(),
    cipher: socket.getCipher()?.name ?? 'unknown',
    ...(exporter ? { exporter } : {}),
    ...(serverEndPoint ? { serverEndPoint } : {}),
    ...(clientCertUser ? { clientCertUser } : {}),
  };
}
