/*
 * The GS2 header (RFC 5801 section 4) that starts SCRAM and OAUTHBEARER messages:
 * `n,,` / `y,,` / `p=CBNAME,` followed by an optional `a=AUTHZID` and a comma.
 */

export type ChannelBindingFlag =
  /** The client does not support channel binding. */
  | { readonly kind: 'n' }
  /** The client supports it but thinks the server does not. */
  | { readonly kind: 'y' }
  /** The client uses channel binding of this type. */
  | { readonly kind: 'p'; readonly name: string };

export interface Gs2Header {
  readonly flag: ChannelBindingFlag;
  /** Decoded authzid, or undefined when absent. */
  readonly authzid: string | undefined;
  /** The header exactly as sent, both commas included: SCRAM's c= covers these bytes. */
  readonly raw: string;
  /** What follows the header. */
  readonly rest: string;
}

/** The header, or a reason for logs. */
export function parseGs2Header(message: string): Gs2Header | string {
  const firstComma = message.indexOf(',');
  if (firstComma < 0) return 'no GS2 header';
  const flagText = message.slice(0, firstComma);
  let flag: ChannelBindingFlag;
  if (flagText === 'n' || flagText === 'y') flag = { kind: flagText };
  else if (flagText.startsWith('p=') && /^[A-Za-z0-9.-]+$/.test(flagText.slice(2))) flag = { kind: 'p', name: flagText.slice(2) };
  else return 'bad channel binding flag in GS2 header';
  const secondComma = message.indexOf(',', firstComma + 1);
  if (secondComma < 0) return 'GS2 header not terminated';
  const authzText = message.slice(firstComma + 1, secondComma);
  let authzid: string | undefined;
  if (authzText !== '') {
    if (!authzText.startsWith('a=')) return 'bad authzid in GS2 header';
    const decoded = decodeSaslname(authzText.slice(2));
    if (decoded === undefined) return 'bad authzid in GS2 header';
    authzid = decoded;
  }
  return { flag, authzid, raw: message.slice(0, secondComma + 1), rest: message.slice(secondComma + 1) };
}

/** RFC 5802 saslname: ',' and '=' travel as '=2C' and '=3D'; any other '=' is an error. */
export function decodeSaslname(text: string): string | undefined {
  if (text === '' || text.includes(',') || text.includes('\0')) return undefined;
  if (/=(?!2C|3D)/.test(text)) return undefined;
  return text.replace(/=2C|=3D/g, (escape) => (escape === '=2C' ? ',' : '='));
}

export function encodeSaslname(name: string): string {
  return name.replace(/=/g, '=3D').replace(/,/g, '=2C');
}
