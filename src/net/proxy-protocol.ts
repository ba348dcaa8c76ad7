import { isIP } from 'node:net';
import type { Socket } from 'node:net';

/** The client a load balancer reports; null for a LOCAL (health check) connection. */
export interface ProxiedAddress {
  readonly address: string;
  readonly port: number;
}

export type ProxyParse =
  | { readonly status: 'incomplete' }
  | { readonly status: 'invalid'; readonly reason: string }
  | { readonly status: 'ok'; readonly source: ProxiedAddress | null; readonly consumed: number };

const V2_SIGNATURE = Buffer.from([0x0d, 0x0a, 0x0d, 0x0a, 0x00, 0x0d, 0x0a, 0x51, 0x55, 0x49, 0x54, 0x0a]);
const V1_MAX = 107;

/**
 * Parses a PROXY protocol header (HAProxy's spec, versions 1 and 2) at the start of `data`.
 * Pure: the caller buffers bytes until the result is not 'incomplete'.
 */
export function parseProxyHeader(data: Buffer): ProxyParse {
  if (data.length === 0) return { status: 'incomplete' };
  if (data[0] === 0x0d) return parseV2(data);
  if (data[0] === 0x50) return parseV1(data);
  return { status: 'invalid', reason: 'no PROXY header' };
}

function parseV1(data: Buffer): ProxyParse {
  const prefix = Buffer.from('PROXY ');
  if (!data.subarray(0, Math.min(data.length, prefix.length)).equals(prefix.subarray(0, Math.min(data.length, prefix.length)))) {
    return { status: 'invalid', reason: 'no PROXY header' };
  }
  const end = data.indexOf('\r\n');
  if (end < 0) return data.length >= V1_MAX ? { status: 'invalid', reason: 'v1 header too long' } : { status: 'incomplete' };
  if (end + 2 > V1_MAX) return { status: 'invalid', reason: 'v1 header too long' };
  const fields = data.subarray(0, end).toString('latin1').split(' ');
  if (fields[1] === 'UNKNOWN') return { status: 'ok', source: null, consumed: end + 2 };
  if (fields.length !== 6) return { status: 'invalid', reason: 'v1 header malformed' };
  const [, family, src, dst, sport, dport] = fields as [string, string, string, string, string, string];
  const want = family === 'TCP4' ? 4 : family === 'TCP6' ? 6 : 0;
  if (want === 0 || isIP(src) !== want || isIP(dst) !== want) return { status: 'invalid', reason: 'v1 address malformed' };
  if (!validPort(sport) || !validPort(dport)) return { status: 'invalid', reason: 'v1 port malformed' };
  return { status: 'ok', source: { address: src, port: Number(sport) }, consumed: end + 2 };
}

function validPort(text: string): boolean {
  return /^(0|[1-9][0-9]{0,4})$/.test(text) && Number(text) <= 65535;
}

function parseV2(data: Buffer): ProxyParse {
  const have = Math.min(data.length, V2_SIGNATURE.length);
  if (!data.subarray(0, have).equals(V2_SIGNATURE.subarray(0, have))) return { status: 'invalid', reason: 'bad v2 signature' };
  if (data.length < 16) return { status: 'incomplete' };
  const versionCommand = data[12] as number;
  if (versionCommand >> 4 !== 2) return { status: 'invalid', reason: 'unsupported v2 version' };
  const command = versionCommand & 0x0f;
  const family = data[13] as number;
  const length = data.readUInt16BE(14);
  if (data.length < 16 + length) return { status: 'incomplete' };
  const consumed = 16 + length;
  if (command === 0) return { status: 'ok', source: null, consumed };
  if (command !== 1) return { status: 'invalid', reason: 'unknown v2 command' };
  const body = data.subarray(16, consumed);
  switch (family) {
    case 0x11: // TCP over IPv4
    case 0x12: // UDP over IPv4
      if (body.length < 12) return { status: 'invalid', reason: 'v2 IPv4 block too short' };
      return { status: 'ok', source: { address: [...body.subarray(0, 4)].join('.'), port: body.readUInt16BE(8) }, consumed };
    case 0x21:
    case 0x22: {
      if (body.length < 36) return { status: 'invalid', reason: 'v2 IPv6 block too short' };
      const groups: string[] = [];
      for (let i = 0; i < 16; i += 2) groups.push(body.readUInt16BE(i).toString(16));
      return { status: 'ok', source: { address: compressIPv6(groups), port: body.readUInt16BE(32) }, consumed };
    }
    case 0x00:
      return { status: 'ok', source: null, consumed };
    default:
      // Unix sockets and unknown families carry no IP to act on: like LOCAL.
      return { status: 'ok', source: null, consumed };
  }
}

function compressIPv6(groups: string[]): string {
  const text = groups.join(':');
  const mapped = /^0:0:0:0:0:ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/.exec(text);
  if (mapped) {
    const hi = parseInt(mapped[1] as string, 16);
    const lo = parseInt(mapped[2] as string, 16);
    return `::ffff:${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`;
  }
  // Replace the longest run of zero groups with '::' (RFC 5952 style).
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++;
      continue;
    }
    let j = i;
    while (j < groups.length && groups[j] === '0') j++;
    if (j - i > bestLen && j - i > 1) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  if (best < 0) return text;
  return `${groups.slice(0, best).join(':')}::${groups.slice(best + bestLen).join(':')}`;
}

/**
 * Reads the PROXY header from a fresh socket. Resolves with the reported source (null for
 * LOCAL) and any bytes that followed it; rejects when the header is missing, malformed or
 * late, and the caller closes the connection.
 */
export function readProxyHeader(socket: Socket, timeoutMs: number): Promise<{ source: ProxiedAddress | null; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buffered = Buffer.alloc(0);
    const finish = (err: Error | null, value?: { source: ProxiedAddress | null; rest: Buffer }): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      socket.pause();
      if (err) reject(err);
      else resolve(value as { source: ProxiedAddress | null; rest: Buffer });
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const parsed = parseProxyHeader(buffered);
      if (parsed.status === 'incomplete') {
        if (buffered.length > 16 + 65535) finish(new Error('PROXY header too long'));
        return;
      }
      if (parsed.status === 'invalid') return finish(new Error(`invalid PROXY header: ${parsed.reason}`));
      finish(null, { source: parsed.source, rest: buffered.subarray(parsed.consumed) });
    };
    const onClose = (): void => finish(new Error('closed before the PROXY header'));
    const timer = setTimeout(() => finish(new Error('no PROXY header in time')), timeoutMs);
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}
