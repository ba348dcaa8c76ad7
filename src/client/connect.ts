import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';
import { Pop3ConnectionError, Pop3TimeoutError, Pop3TlsError } from './errors.js';

/** How the connection is protected: implicit TLS (pop3s, RFC 8314), STLS (RFC 2595), or none. */
export type TlsMode = 'tls' | 'starttls' | 'none';

export interface TlsSettings {
  /** Certificate verification; on unless explicitly turned off. */
  readonly rejectUnauthorized?: boolean;
  /** Extra trusted certificates (PEM), e.g. a private CA or a self-signed server. */
  readonly ca?: string | Buffer | readonly (string | Buffer)[];
  /** The name the certificate must carry; defaults to the host when it is a name, not an address. */
  readonly servername?: string;
}

export interface SocketTarget {
  readonly host: string;
  readonly port: number;
  readonly timeoutMs: number;
}

/** Opens a TCP connection (and with `tls`, completes the handshake) within the time limit. */
export function openSocket(target: SocketTarget, tls: TlsSettings | undefined): Promise<Socket> {
  return settleSocket(
    tls === undefined ? netConnect({ host: target.host, port: target.port }) : tlsConnect(tlsOptions(target, tls, {})),
    tls === undefined ? 'connect' : 'secureConnect',
    target,
  );
}

/** Starts TLS on an open connection, after the server's +OK to STLS. */
export function upgradeSocket(socket: Socket, target: SocketTarget, tls: TlsSettings): Promise<Socket> {
  return settleSocket(tlsConnect(tlsOptions(target, tls, { socket })), 'secureConnect', target);
}

function tlsOptions(target: SocketTarget, tls: TlsSettings, extra: Partial<ConnectionOptions>): ConnectionOptions {
  const servername = tls.servername ?? (isIP(target.host) === 0 ? target.host : undefined);
  return {
    host: target.host,
    port: target.port,
    rejectUnauthorized: tls.rejectUnauthorized ?? true,
    // RFC 8996 deprecates TLS 1.0 and 1.1; RFC 8314 asks for 1.2 at least.
    minVersion: 'TLSv1.2',
    ...(servername !== undefined ? { servername } : {}),
    ...(tls.ca !== undefined ? { ca: tls.ca as ConnectionOptions['ca'] } : {}),
    ...extra,
  };
}

function settleSocket(socket: Socket | TLSSocket, readyEvent: 'connect' | 'secureConnect', target: SocketTarget): Promise<Socket> {
  const where = `${target.host}:${target.port}`;
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Pop3TimeoutError(`connecting to ${where} took longer than ${target.timeoutMs} ms`));
    }, target.timeoutMs);
    const onError = (err: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(isTlsError(err) ? new Pop3TlsError(`TLS with ${where} failed: ${err.message}`, { cause: err }) : new Pop3ConnectionError(`cannot connect to ${where}: ${err.message}`, { cause: err }));
    };
    socket.once('error', onError);
    socket.once(readyEvent, () => {
      clearTimeout(timer);
      socket.off('error', onError);
      socket.setNoDelay(true);
      resolve(socket);
    });
  });
}

const CERT_ERRORS = new Set([
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'SELF_SIGNED_CERT_IN_CHAIN',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_REVOKED',
  'CERT_UNTRUSTED',
  'CERT_REJECTED',
  'HOSTNAME_MISMATCH',
  'ERR_TLS_CERT_ALTNAME_INVALID',
]);

function isTlsError(err: Error): boolean {
  const code = (err as NodeJS.ErrnoException).code ?? '';
  return CERT_ERRORS.has(code) || code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_') || /\b(ssl|tls|certificate)\b/i.test(err.message);
}
