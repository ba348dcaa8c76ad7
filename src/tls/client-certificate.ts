import type { TLSSocket } from 'node:tls';

/**
 * The user a client certificate names, when OpenSSL accepted it against the configured CA
 * (`authorized`): an e-mail subjectAltName, else the CN. The chain itself is OpenSSL's to judge.
 */
export function clientCertificateUser(socket: TLSSocket): string | undefined {
  if (!socket.authorized) return undefined;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return undefined;
  const email = (peer.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('email:'));
  if (email) return email.slice('email:'.length);
  return /CN=([^\n,]+)/.exec(peer.subject)?.[1];
}
