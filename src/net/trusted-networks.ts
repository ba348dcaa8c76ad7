import { BlockList, isIPv4, isIPv6 } from 'node:net';

/** Thrown for a CIDR the config cannot use; the message names it. */
export class NetworkSpecError extends Error {
  override readonly name = 'NetworkSpecError';
}

/** "::ffff:127.0.0.1" is an IPv4 client on a dual-stack socket: judge it as IPv4. */
export function plainAddress(address: string): string {
  return address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address;
}

/** A set of networks (CIDRs or single addresses) to test client addresses against. */
export class NetworkSet {
  private readonly list = new BlockList();

  constructor(readonly specs: readonly string[]) {
    for (const spec of specs) {
      const [address = '', bits] = spec.split('/');
      const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : null;
      if (!family) throw new NetworkSpecError(`not an IP network: ${spec}`);
      const max = family === 'ipv4' ? 32 : 128;
      const prefix = bits === undefined ? max : Number(bits);
      if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (bits !== undefined && !/^\d+$/.test(bits))) {
        throw new NetworkSpecError(`bad prefix length in ${spec}`);
      }
      this.list.addSubnet(address, prefix, family);
    }
  }

  has(address: string): boolean {
    const plain = plainAddress(address);
    const family = isIPv4(plain) ? 'ipv4' : isIPv6(plain) ? 'ipv6' : null;
    return family !== null && this.list.check(plain, family);
  }
}
