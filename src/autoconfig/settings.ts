/**
 * What mail clients should be told: the public host name and ports, which differ from the
 * listeners behind a NAT or a proxy (config [autoconfig]). Pure: the documents are built
 * from these values alone.
 */
export interface ClientSettings {
  /** The host name clients connect to (and the certificate names). */
  readonly host: string;
  /** Mail domains served: the autoconfig documents and SRV records are per domain. */
  readonly domains: readonly string[];
  /** Implicit-TLS POP3 (RFC 8314), 0: not offered. */
  readonly pop3sPort: number;
  /** POP3 with STLS, 0: not offered. */
  readonly pop3Port: number;
  /** Submission with STARTTLS (RFC 6409), 0: not offered. */
  readonly submissionPort: number;
  /** Submission over implicit TLS (RFC 8314), 0: not offered. */
  readonly submissionsPort: number;
  /** Shown in clients' account wizards. */
  readonly displayName: string;
}

/** The user name a client should log in with for an address: the local part, or the whole address for address-form users. */
export type LoginNameFor = (address: string) => Promise<string>;

export function domainOf(address: string): string {
  const at = address.lastIndexOf('@');
  return at < 0 ? '' : address.slice(at + 1).toLowerCase();
}

/** The config's [autoconfig], with the listeners' ports where it names none. */
export function clientSettings(config: {
  readonly hostname: string;
  readonly pop3: { readonly port: number };
  readonly pop3s: { readonly enabled: boolean; readonly port: number };
  readonly smtp: { readonly local_domains: readonly string[]; readonly submission: { readonly enabled: boolean; readonly port: number; readonly implicit_tls: boolean; readonly implicit_tls_port: number } };
  readonly autoconfig: { readonly host: string; readonly domains: readonly string[]; readonly pop3s_port: number; readonly pop3_port: number; readonly submission_port: number; readonly submissions_port: number; readonly display_name: string };
}): ClientSettings {
  const a = config.autoconfig;
  const sub = config.smtp.submission;
  const port = (stated: number, listener: number, on: boolean): number => (stated === -1 ? 0 : stated > 0 ? stated : on ? listener : 0);
  const domains = a.domains.length > 0 ? a.domains : [config.hostname, ...config.smtp.local_domains];
  return {
    host: a.host || config.hostname,
    domains: [...new Set(domains.map((d) => d.toLowerCase()))],
    pop3sPort: port(a.pop3s_port, config.pop3s.port, config.pop3s.enabled),
    pop3Port: port(a.pop3_port, config.pop3.port, true),
    submissionPort: port(a.submission_port, sub.port, sub.enabled),
    submissionsPort: port(a.submissions_port, sub.implicit_tls_port, sub.enabled && sub.implicit_tls),
    displayName: a.display_name,
  };
}
