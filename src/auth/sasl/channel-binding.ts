import { createHash } from 'node:crypto';
import type { TLSSocket } from 'node:tls';
import type { SaslTlsContext } from './types.js';

/*
 * Channel binding data of a TLS connection, for SCRAM-SHA-256-PLUS: what the connection
 * layer puts into SaslContext.tls.
 */

/**
 * RFC 9266 tls-exporter, defined for TLS 1.3. Under TLS 1.2 it is only safe with the
 * extended master secret, which Node does not report, so it is not offered there.
 */
export function tlsExporter(socket: TLSSocket): (() => Buffer) | undefined {
  if (socket.getProtocol() !== 'TLSv1.3') return undefined;
  return () => socket.exportKeyingMaterial(32, 'EXPORTER-Channel-Binding', Buffer.alloc(0));
}

/** Signature algorithm OIDs and the hash RFC 5929 section 4.1 says to use for each. */
const HASH_BY_SIGNATURE: ReadonlyMap<string, string> = new Map([
  // MD5 and SHA-1 are replaced by SHA-256.
  ['1.2.840.113549.1.1.4', 'sha256'], // md5WithRSAEncryption
  ['1.2.840.113549.1.1.5', 'sha256'], // sha1WithRSAEncryption
  ['1.2.840.10045.4.1', 'sha256'], // ecdsa-with-SHA1
  ['1.2.840.10040.4.3', 'sha256'], // dsa-with-sha1
  ['1.2.840.113549.1.1.14', 'sha224'],
  ['1.2.840.113549.1.1.11', 'sha256'],
  ['1.2.840.113549.1.1.12', 'sha384'],
  ['1.2.840.113549.1.1.13', 'sha512'],
  ['1.2.840.10045.4.3.1', 'sha224'],
  ['1.2.840.10045.4.3.2', 'sha256'],
  ['1.2.840.10045.4.3.3', 'sha384'],
  ['1.2.840.10045.4.3.4', 'sha512'],
  ['2.16.840.1.101.3.4.3.2', 'sha256'], // dsa-with-sha256
]);
const RSASSA_PSS = '1.2.840.113549.1.1.10';
/** Hash algorithm OIDs that may appear in RSASSA-PSS parameters. */
const HASH_BY_OID: ReadonlyMap<string, string> = new Map([
  ['1.3.14.3.2.26', 'sha256'], // SHA-1, replaced
  ['2.16.840.1.101.3.4.2.4', 'sha224'],
  ['2.16.840.1.101.3.4.2.1', 'sha256'],
  ['2.16.840.1.101.3.4.2.2', 'sha384'],
  ['2.16.840.1.101.3.4.2.3', 'sha512'],
]);

/**
 * RFC 5929 tls-server-end-point: the hash of the server's DER certificate, with the hash of
 * its signature algorithm (SHA-256 in place of MD5 and SHA-1). Undefined for signatures
 * that use no single hash (Ed25519, Ed448), for which the RFC leaves it undefined, and for
 * a certificate that cannot be parsed.
 */
export function tlsServerEndPoint(certificate: Buffer): Buffer | undefined {
  const hash = endPointHash(certificate);
  return hash === undefined ? undefined : createHash(hash).update(certificate).digest();
}

/** What SaslContext.tls should hold for a TLS socket on the server side. */
export function saslTlsContext(socket: TLSSocket, clientCertUser?: string): SaslTlsContext {
  const exporter = tlsExporter(socket);
  const raw = socket.getCertificate();
  const certificate = raw !== null && 'raw' in raw && Buffer.isBuffer(raw.raw) ? raw.raw : undefined;
  const serverEndPoint = certificate === undefined ? undefined : tlsServerEndPoint(certificate);
  return {
    ...(exporter !== undefined && { exporter }),
    ...(serverEndPoint !== undefined && { serverEndPoint }),
    ...(clientCertUser !== undefined && { clientCertUser }),
  };
}

function endPointHash(certificate: Buffer): string | undefined {
  // Certificate ::= SEQUENCE { tbsCertificate, signatureAlgorithm AlgorithmIdentifier, signature }
  const outer = readTlv(certificate, 0);
  if (outer?.tag !== 0x30) return undefined;
  const tbs = readTlv(certificate, outer.start);
  const algorithm = tbs === undefined ? undefined : readTlv(certificate, tbs.end);
  if (algorithm?.tag !== 0x30) return undefined;
  const oid = readOid(certificate, algorithm.start);
  if (oid === undefined) return undefined;
  if (oid.value !== RSASSA_PSS) return HASH_BY_SIGNATURE.get(oid.value);
  // RSASSA-PSS-params ::= SEQUENCE { hashAlgorithm [0] AlgorithmIdentifier DEFAULT sha1, ... }
  const params = readTlv(certificate, oid.end);
  if (params === undefined || params.end > algorithm.end || params.tag !== 0x30) return 'sha256';
  const first = params.start < params.end ? readTlv(certificate, params.start) : undefined;
  if (first?.tag !== 0xa0) return 'sha256';
  const hashAlgorithm = readTlv(certificate, first.start);
  const hashOid = hashAlgorithm?.tag === 0x30 ? readOid(certificate, hashAlgorithm.start) : undefined;
  return hashOid === undefined ? undefined : HASH_BY_OID.get(hashOid.value);
}

interface Tlv {
  readonly tag: number;
  /** Offset of the contents. */
  readonly start: number;
  /** Offset just past the contents. */
  readonly end: number;
}

/** One DER tag-length-value at `offset` (short tags, definite lengths), or undefined. */
function readTlv(der: Buffer, offset: number): Tlv | undefined {
  const tag = der[offset];
  let lengthByte = der[offset + 1];
  if (tag === undefined || lengthByte === undefined) return undefined;
  let start = offset + 2;
  let length = lengthByte;
  if (lengthByte & 0x80) {
    const count = lengthByte & 0x7f;
    if (count === 0 || count > 4) return undefined;
    length = 0;
    for (let i = 0; i < count; i++) {
      lengthByte = der[start + i];
      if (lengthByte === undefined) return undefined;
      length = length * 256 + lengthByte;
    }
    start += count;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag, start, end };
}

function readOid(der: Buffer, offset: number): { value: string; end: number } | undefined {
  const tlv = readTlv(der, offset);
  if (tlv?.tag !== 0x06 || tlv.end === tlv.start) return undefined;
  const arcs: number[] = [];
  let arc = 0;
  for (let i = tlv.start; i < tlv.end; i++) {
    const byte = der[i] ?? 0;
    arc = arc * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) {
      arcs.push(arc);
      arc = 0;
    }
  }
  const [head = 0, ...rest] = arcs;
  const first = head < 80 ? Math.floor(head / 40) : 2;
  return { value: [first, head - first * 40, ...rest].join('.'), end: tlv.end };
}
