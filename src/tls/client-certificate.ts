import { X509Certificate } from 'node:crypto';
import type { DetailedPeerCertificate, PeerCertificate, TLSSocket } from 'node:tls';

/** Every certificate in a PEM bundle. */
export function parseCertificates(pem: string): X509Certificate[] {
  const blocks = pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? [];
  return blocks.map((block) => new X509Certificate(block));
}

function validAt(cert: X509Certificate, now: Date): boolean {
  return new Date(cert.validFrom) <= now && now <= new Date(cert.validTo);
}

/**
 * Whether the client's certificate chains to one of `anchors`. A TLSSocket made by hand
 * (STLS, PROXY) does not get the check that tls.Server does, so it is done here with the
 * public X509Certificate API: each link issued and signed by the next, all within validity,
 * intermediates marked as CAs, ending at a configured authority.
 */
export function clientChainTrusted(socket: TLSSocket, anchors: readonly X509Certificate[], now = new Date()): boolean {
  if (anchors.length === 0) return false;
  let node = socket.getPeerCertificate(true) as DetailedPeerCertificate | PeerCertificate;
  if (!node || !('raw' in node) || !node.raw) return false;
  let current = new X509Certificate(node.raw);
  for (let depth = 0; depth < 8; depth++) {
    if (!validAt(current, now)) return false;
    const anchor = anchors.find((ca) => current.checkIssued(ca) && current.verify(ca.publicKey));
    if (anchor) return validAt(anchor, now);
    const next = (node as DetailedPeerCertificate).issuerCertificate;
    if (!next || next === node || !next.raw) return false;
    const issuer = new X509Certificate(next.raw);
    if (!issuer.ca || !current.checkIssued(issuer) || !current.verify(issuer.publicKey)) return false;
    current = issuer;
    node = next;
  }
  return false;
}

/** The user a trusted client certificate names: an e-mail subjectAltName, else the CN. */
export function clientCertificateUser(socket: TLSSocket, anchors: readonly X509Certificate[]): string | undefined {
  if (!clientChainTrusted(socket, anchors)) return undefined;
  const peer = socket.getPeerX509Certificate();
  if (!peer) return undefined;
  const email = (peer.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .find((s) => s.startsWith('email:'));
  if (email) return email.slice('email:'.length);
  return /CN=([^\n,]+)/.exec(peer.subject)?.[1];
}
