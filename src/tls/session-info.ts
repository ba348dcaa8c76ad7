import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { TlsSessionInfo } from '../pop3/transport.js';

const SHA384_OIDS = ['2a864886f70d01010c', '2a8648ce3d040303'];
const SHA512_OIDS = ['2a864886f70d01010d', '2a8648ce3d040304'];

/** The hash RFC 5929 section 4.1 asks for: the certificate's own, but never below SHA-256. */
function endPointHash(der: Buffer): string {
  const hex = der.toString('hex');
  if (SHA512_OIDS.some((oid) => hex.includes(oid))) return 'sha512';
  if (SHA384_OIDS.some((oid) => hex.includes(oid))) return 'sha384';
  return 'sha256';
}

/** The user a verified client certificate names: an e-mail subjectAltName, else the CN. */
function certificateUser(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerX509Certificate?.();
  if (!peer) return undefined;
  const email = (peer.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('email:'));
  if (email) return email.slice('email:'.length);
  return /CN=([^\n,]+)/.exec(peer.subject)?.[1];
}

export function tlsSessionInfo(socket: TLSSocket): TlsSessionInfo {
  const protocol = socket.getProtocol();
  const raw = socket.getCertificate() && 'raw' in (socket.getCertificate() as object) ? (socket.getCertificate() as { raw: Buffer }).raw : undefined;
  const clientCertUser = certificateUser(socket);
  return {
    protocol,
    cipher: socket.getCipher()?.name ?? 'unknown',
    ...(protocol === 'TLSv1.3' ? { exporter: () => socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0)) } : {}),
    ...(raw ? { serverEndPoint: createHash(endPointHash(raw)).update(raw).digest() } : {}),
    ...(clientCertUser ? { clientCertUser } : {}),
  };
}

