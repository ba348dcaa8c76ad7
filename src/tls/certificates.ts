import type { TlsOptions } from 'node:tls';
import { constants, X509Certificate } from 'node:crypto';
import type { Socket } from 'node:net';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createSecureContext, type SecureContext, type SecureVersion, type TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { TlsAcceptor } from './acceptor.js';
import { selfSignedCertificate } from './self-signed.js';

export interface CertificatePaths {
  readonly cert: string;
  readonly key: string;
}

export interface TlsSettings {
  /** The default certificate; when absent, a self-signed one in DATA/tls/ is made once. */
  readonly cert?: CertificatePaths;
  /** More certificates, chosen by SNI from the names they carry. */
  readonly sni: readonly CertificatePaths[];
  readonly minVersion: SecureVersion;
  readonly ciphers?: string;
  /** CA bundle for client certificates (SASL EXTERNAL); none means clients are not asked. */
  readonly clientCa?: string;
  /**
   * Keys for TLS session tickets (48 bytes). Processes that share them resume each other's
   * sessions (POP3 workers); without them each context makes its own at random.
   */
  readonly ticketKeys?: Buffer;
}

/** A loaded certificate: its context and the DNS names it answers for. */
interface Loaded {
  readonly context: SecureContext;
  readonly names: readonly string[];
  readonly info: CertificateInfo;
}

/** What an administrator wants to know of a certificate in use (the leaf of its chain). */
export interface CertificateInfo {
  readonly file: string;
  /** Chosen for clients without SNI (and for names no SNI certificate carries). */
  readonly default: boolean;
  readonly names: readonly string[];
  readonly subject: string;
  readonly issuer: string;
  readonly validFrom: Date;
  readonly validTo: Date;
  readonly fingerprint256: string;
}

/** Thrown when certificates cannot be loaded at start: the message names the file. */
export class TlsConfigError extends Error {
  override readonly name = 'TlsConfigError';
}

/**
 * The server's certificates. Listeners ask it for a context per connection, so reload()
 * (SIGHUP) applies to new connections while open sessions keep the one they started with.
 */
export class CertificateStore {
  private defaultCert!: Loaded;
  private sniCerts: Loaded[] = [];

  private constructor(
    private readonly settings: TlsSettings,
    private readonly defaultPaths: CertificatePaths,
    private readonly logger: Logger,
  ) {}

  static async open(settings: TlsSettings, dataDir: string, logger: Logger): Promise<CertificateStore> {
    const paths = settings.cert ?? (await ensureSelfSigned(dataDir, logger));
    const store = new CertificateStore(settings, paths, logger);
    await store.load();
    return store;
  }

  /** Re-reads every certificate; on failure keeps the ones in use and says why. */
  async reload(): Promise<boolean> {
    try {
      await this.load();
      this.logger.info({ event: 'tls_reloaded', certificates: 1 + this.sniCerts.length }, 'certificates reloaded');
      return true;
    } catch (err) {
      this.logger.error({ err, event: 'tls_reload_failed' }, 'certificate reload failed; keeping the current ones');
      return false;
    }
  }

  /**
   * The server side of a TLS handshake on a socket we accepted (implicit TLS, STLS), with
   * the current certificates; `head` is what was already read from it (after a PROXY
   * header). With a client CA, clients are asked for a certificate and OpenSSL's verdict
   * is the socket's `authorized` (a client without a good one still gets in, for passwords).
   */
  async acceptTls(raw: Socket, head?: Buffer): Promise<TLSSocket> {
    const socket = await this.acceptor.accept(raw, head);
    if (this.clientCaPem !== undefined && !socket.authorized && socket.getPeerX509Certificate() !== undefined) {
      // The client gets in (for passwords) but not as its certificate's user: say why.
      this.logger.info({ event: 'client_certificate_refused', reason: String(socket.authorizationError), peer: raw.remoteAddress }, 'client certificate not accepted by OpenSSL');
    }
    return socket;
  }

  /**
   * Options for a node:https server (the HTTP API beyond loopback): the default certificate,
   * SNI certificates by name, the configured TLS versions and ciphers. Read at start: a
   * reload reaches it through SNI only.
   */
  async httpsOptions(): Promise<TlsOptions> {
    const [cert, key] = await Promise.all([readPem(this.defaultPaths.cert), readPem(this.defaultPaths.key)]);
    return {
      cert,
      key,
      SNICallback: (servername, done) => done(null, this.contextFor(servername)),
      minVersion: this.settings.minVersion,
      ...(this.settings.ciphers ? { ciphers: this.settings.ciphers } : {}),
    };
  }

  /** The certificates in use now (the default first), parsed by node's X509Certificate. */
  describe(): CertificateInfo[] {
    return [this.defaultCert.info, ...this.sniCerts.map((c) => c.info)];
  }

  /** Whether client certificates are asked for (tls.client_ca is set). */
  get requestsClientCertificates(): boolean {
    return this.clientCaPem !== undefined;
  }

  contextFor(servername: string): SecureContext {
    const name = servername.toLowerCase();
    for (const cert of this.sniCerts) if (cert.names.some((pattern) => matches(pattern, name))) return cert.context;
    return this.defaultCert.context;
  }

  private clientCaPem: string | undefined;
  private acceptor!: TlsAcceptor;

  private async load(): Promise<void> {
    // The client CA goes into every context: a context given to a socket decides verification.
    const ca = this.settings.clientCa ? await readPem(this.settings.clientCa) : undefined;
    const loadedDefault = await this.loadPair(this.defaultPaths, ca, true);
    const loadedSni = await Promise.all(this.settings.sni.map((p) => this.loadPair(p, ca, false)));
    const [cert, key] = await Promise.all([readPem(this.defaultPaths.cert), readPem(this.defaultPaths.key)]);
    const acceptor = new TlsAcceptor({
      cert,
      key,
      SNICallback: (servername, done) => done(null, this.contextFor(servername)),
      minVersion: this.settings.minVersion,
      ...(this.settings.ciphers ? { ciphers: this.settings.ciphers } : {}),
      ...(this.settings.ticketKeys ? { ticketKeys: this.settings.ticketKeys } : {}),
      secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      // OpenSSL verifies the chain (purpose, key usage, validity, path length, name
      // constraints); a client without a good certificate may still log in otherwise.
      ...(ca ? { requestCert: true, rejectUnauthorized: false, ca } : {}),
    });
    // Swap only once everything loaded, so a bad file never leaves a half-new set.
    this.defaultCert = loadedDefault;
    this.sniCerts = loadedSni;
    this.clientCaPem = ca;
    this.acceptor = acceptor;
  }

  private async loadPair(paths: CertificatePaths, clientCa: string | undefined, isDefault: boolean): Promise<Loaded> {
    const [cert, key] = await Promise.all([readPem(paths.cert), readPem(paths.key)]);
    let context: SecureContext;
    try {
      context = createSecureContext({
        cert,
        key,
        minVersion: this.settings.minVersion,
        ...(this.settings.ciphers ? { ciphers: this.settings.ciphers } : {}),
        ...(clientCa ? { ca: clientCa } : {}),
        ...(this.settings.ticketKeys ? { ticketKeys: this.settings.ticketKeys } : {}),
        // Refused inside OpenSSL: a hand-made server TLSSocket does not get Node's
        // renegotiation limit, and renegotiation has been a source of DoS and attacks.
        secureOptions: constants.SSL_OP_NO_RENEGOTIATION,
      });
    } catch (err) {
      throw new TlsConfigError(`cannot use certificate ${paths.cert} with key ${paths.key}: ${(err as Error).message}`);
    }
    const leaf = new X509Certificate(cert);
    const names = certificateNames(leaf);
    const info: CertificateInfo = {
      file: paths.cert,
      default: isDefault,
      names,
      subject: leaf.subject,
      issuer: leaf.issuer,
      validFrom: new Date(leaf.validFrom),
      validTo: new Date(leaf.validTo),
      fingerprint256: leaf.fingerprint256,
    };
    return { context, names, info };
  }
}

async function readPem(path: string): Promise<string> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    throw new TlsConfigError(`cannot read ${path}: ${(err as Error).message}`);
  }
}

/** DNS names of the leaf certificate (subjectAltName, else CN), lower-cased. */
function certificateNames(leaf: X509Certificate): string[] {
  const alt = (leaf.subjectAltName ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.startsWith('DNS:'))
    .map((s) => s.slice(4).toLowerCase());
  if (alt.length > 0) return alt;
  const cn = /CN=([^\n,]+)/.exec(leaf.subject)?.[1];
  return cn ? [cn.toLowerCase()] : [];
}

/** RFC 6125 matching, with a wildcard allowed only as the whole left-most label. */
function matches(pattern: string, name: string): boolean {
  if (pattern === name) return true;
  if (!pattern.startsWith('*.')) return false;
  const dot = name.indexOf('.');
  return dot > 0 && name.slice(dot + 1) === pattern.slice(2);
}

async function ensureSelfSigned(dataDir: string, logger: Logger): Promise<CertificatePaths> {
  const dir = join(dataDir, 'tls');
  const paths = { cert: join(dir, 'self-signed-cert.pem'), key: join(dir, 'self-signed-key.pem') };
  try {
    await readFile(paths.cert);
    await readFile(paths.key);
    return paths;
  } catch {
    // Made once and reused, so clients that pinned it keep trusting it across restarts.
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const pair = selfSignedCertificate();
    await writeFile(paths.key, pair.key, { mode: 0o600 });
    await writeFile(paths.cert, pair.cert, { mode: 0o644 });
    logger.info({ event: 'tls_self_signed', cert: paths.cert }, 'generated a self-signed certificate for localhost');
    return paths;
  }
}
