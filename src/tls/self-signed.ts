import { generateKeyPairSync, randomBytes, sign } from 'node:crypto';
import { isIPv4 } from 'node:net';
import { bitString, boolean, explicit, implicit, octetString, oid, sequence, set, time, unsignedInteger, utf8String } from './der.js';

export interface PemPair {
  readonly cert: string;
  readonly key: string;
}

const ECDSA_WITH_SHA256 = '1.2.840.10045.4.3.2';
const COMMON_NAME = '2.5.4.3';
const SUBJECT_ALT_NAME = '2.5.29.17';
const BASIC_CONSTRAINTS = '2.5.29.19';
const EXT_KEY_USAGE = '2.5.29.37';
const SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

function ipBytes(address: string): Buffer {
  if (isIPv4(address)) return Buffer.from(address.split('.').map(Number));
  // Only the loopback literal is needed here; a full IPv6 parser is not.
  if (address === '::1') return Buffer.concat([Buffer.alloc(15), Buffer.of(1)]);
  throw new Error(`unsupported IP address for a self-signed certificate: ${address}`);
}

function pem(label: string, der: Buffer): string {
  const lines = der.toString('base64').match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`;
}

/**
 * A self-signed ECDSA P-256 certificate for the embedded default, so TLS works out of the
 * box on loopback. Clients must be told to trust it (or to skip verification); production
 * configures real certificates.
 */
export function selfSignedCertificate(options: { names?: readonly string[]; ips?: readonly string[]; days?: number; now?: Date } = {}): PemPair {
  const names = options.names ?? ['localhost'];
  const ips = options.ips ?? ['127.0.0.1', '::1'];
  const now = options.now ?? new Date();
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const subject = sequence(set(sequence(oid(COMMON_NAME), utf8String(names[0] ?? 'localhost'))));
  const algorithm = sequence(oid(ECDSA_WITH_SHA256));
  const altNames = sequence(...names.map((n) => implicit(2, Buffer.from(n, 'ascii'))), ...ips.map((ip) => implicit(7, ipBytes(ip))));
  const extensions = sequence(
    sequence(oid(BASIC_CONSTRAINTS), boolean(true), octetString(sequence())),
    sequence(oid(SUBJECT_ALT_NAME), octetString(altNames)),
    sequence(oid(EXT_KEY_USAGE), octetString(sequence(oid(SERVER_AUTH)))),
  );
  const serial = randomBytes(16);
  serial[0] = (serial[0] ?? 0) & 0x7f;
  const notBefore = new Date(now.getTime() - 60 * 60 * 1000);
  const notAfter = new Date(now.getTime() + (options.days ?? 3650) * 86_400_000);
  const tbs = sequence(
    explicit(0, unsignedInteger(Buffer.of(2))),
    unsignedInteger(serial),
    algorithm,
    subject,
    sequence(time(notBefore), time(notAfter)),
    subject,
    publicKey.export({ type: 'spki', format: 'der' }),
    explicit(3, extensions),
  );
  const signature = sign('sha256', tbs, privateKey);
  const certificate = sequence(tbs, algorithm, bitString(signature));
  return { cert: pem('CERTIFICATE', certificate), key: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() };
}
