import { isIP } from 'node:net';

/** An envelope address split at its last '@'; the domain lower-cased (RFC 5321 2.4). */
export interface MailAddress {
  readonly local: string;
  /** Empty for the domain-less `postmaster` recipient RFC 5321 4.1.1.3 requires. */
  readonly domain: string;
}

export function splitAddress(address: string): MailAddress {
  const at = address.lastIndexOf('@');
  if (at < 0) return { local: address, domain: '' };
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase() };
}

export function joinAddress(a: MailAddress): string {
  return a.domain === '' ? a.local : `${a.local}@${a.domain}`;
}

/** "::ffff:127.0.0.1" is an IPv4 client on a dual-stack socket. */
export function plainIp(address: string): string {
  return address.startsWith('::ffff:') && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
}

export function isLoopback(address: string | undefined): boolean {
  if (address === undefined) return false;
  const ip = plainIp(address);
  return ip === '::1' || ip.startsWith('127.');
}

/** The RFC 5321 address literal of a client: [192.0.2.1] or [IPv6:2001:db8::1]. */
export function addressLiteral(address: string): string {
  const ip = plainIp(address);
  return isIP(ip) === 6 ? `[IPv6:${ip}]` : `[${ip}]`;
}
