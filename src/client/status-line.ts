/**
 * One line from the server, classified. Real servers vary: lowercase "+ok", several spaces
 * after the status, a lone "+" as a SASL challenge; all are read the same way here. The
 * line arrives without its line end and is decoded as latin1 so every byte survives.
 */
export type ServerLine =
  | { readonly kind: 'ok'; readonly text: string }
  | { readonly kind: 'err'; readonly text: string; readonly code: string | undefined }
  /** RFC 5034 continuation: "+ " and base64 data (possibly empty). */
  | { readonly kind: 'continue'; readonly data: string }
  | { readonly kind: 'other'; readonly line: string };

const OK = /^[ \t]*\+ok(?:[ \t]+|$)/i;
const ERR = /^[ \t]*-err(?:[ \t]+|$)/i;
const CONTINUE = /^[ \t]*\+(?:[ \t]+|$)/;
/** RFC 2449 section 8: resp-code = "[" resp-level *("/" resp-level) "]". */
const RESP_CODE = /^\[([^\]\s]{1,64})\][ \t]*/;

export function parseServerLine(line: Buffer | string): ServerLine {
  const text = typeof line === 'string' ? line : line.toString('latin1');
  let m = OK.exec(text);
  if (m) return { kind: 'ok', text: text.slice(m[0].length).trimEnd() };
  m = ERR.exec(text);
  if (m) {
    const rest = text.slice(m[0].length);
    const code = RESP_CODE.exec(rest);
    if (code?.[1] !== undefined) return { kind: 'err', code: code[1].toUpperCase(), text: rest.slice(code[0].length).trimEnd() };
    return { kind: 'err', code: undefined, text: rest.trimEnd() };
  }
  m = CONTINUE.exec(text);
  if (m) return { kind: 'continue', data: text.slice(m[0].length).trim() };
  return { kind: 'other', line: text };
}

/**
 * Splits a listing or status line into fields. Several spaces or tabs count as one
 * separator, since some servers align their columns.
 */
export function fields(text: string): string[] {
  return text.split(/[ \t]+/).filter((f) => f !== '');
}

/** A non-negative decimal integer field, or undefined (no sign, no exponent, safe range). */
export function parseCount(field: string | undefined): number | undefined {
  if (field === undefined || !/^[0-9]{1,15}$/.test(field)) return undefined;
  return Number(field);
}
