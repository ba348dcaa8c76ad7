import { createHash } from 'node:crypto';

/**
 * Dovecot's `pop3_uidl_format`: how Dovecot 2.3 shows a Maildir message's UIDL when its
 * dovecot-uidlist record has no saved `P` field. Expanded the way Dovecot's var_expand does
 * (src/lib/var-expand.c), for the variables its POP3 server offers (src/pop3/pop3-commands.c):
 *
 *   %u / %{uid}          the message's IMAP UID (decimal)
 *   %v / %{uidvalidity}  the mailbox's UIDVALIDITY (decimal)
 *   %f / %{filename}     the file's base name (up to the ':' of the flags)
 *   %g / %{guid}         the record's G field, else the base name (what Dovecot uses for Maildir)
 *   %%                   a '%'
 *
 * and, between '%' and the variable, `[-][0]WIDTH[.[0][-]WIDTH]` (offset and width: `%08X`
 * pads with zeros to 8, `%.8f` cuts to 8) and the modifiers L (lower case), U (upper case),
 * X (decimal to *lower-case* hex, as Dovecot 2.3 prints it: `%08Xu%08Xv` gives
 * `0000002a65f1c0de`), R (reverse), T (trim trailing white space) and M (MD5 in hex).
 * `%m` (the header MD5) exists only for Dovecot's mbox storage, so a format using it is
 * refused, as are unknown variables: a format that could not reproduce what Dovecot showed
 * must not silently produce something else.
 */
export interface DovecotUidlVars {
  readonly uid: number;
  readonly uidValidity: number;
  readonly basename: string;
  /** The record's G field, when it has one. */
  readonly guid?: string;
}

export type UidlFormat = (vars: DovecotUidlVars) => string;

export class UidlFormatError extends Error {
  override readonly name = 'UidlFormatError';
}

export const DEFAULT_DOVECOT_UIDL_FORMAT = '%08Xu%08Xv';

type Variable = 'uid' | 'uidvalidity' | 'filename' | 'guid';

const SHORT: Readonly<Record<string, Variable>> = { u: 'uid', v: 'uidvalidity', f: 'filename', g: 'guid' };
const LONG = new Set<string>(['uid', 'uidvalidity', 'filename', 'guid']);

type Modifier = (value: string) => string;

const MODIFIERS: Readonly<Record<string, Modifier>> = {
  L: (s) => s.toLowerCase(),
  U: (s) => s.toUpperCase(),
  X: (s) => (/^\d{1,20}$/.test(s) ? BigInt(s) : 0n).toString(16),
  R: (s) => [...s].reverse().join(''),
  T: (s) => s.replace(/\s+$/, ''),
  M: (s) => createHash('md5').update(s, 'utf8').digest('hex'),
};

interface Field {
  readonly variable: Variable;
  readonly modifiers: readonly Modifier[];
  readonly offset: number;
  readonly width: number;
  readonly zeroPadding: boolean;
}

type Piece = string | Field;

/** Compiles a format once (at configuration load), so each message costs only the expansion. */
export function compileUidlFormat(format: string): UidlFormat {
  const pieces: Piece[] = [];
  let literal = '';
  let i = 0;
  while (i < format.length) {
    const c = format[i] as string;
    if (c !== '%') {
      literal += c;
      i++;
      continue;
    }
    i++;
    if (format[i] === '%') {
      literal += '%';
      i++;
      continue;
    }
    // [<offset>.]<width>[<modifiers>]<variable>, exactly as var_expand reads it.
    let sign = 1;
    let zeroPadding = false;
    let width = 0;
    let offset = 0;
    if (format[i] === '-') {
      sign = -1;
      i++;
    }
    if (format[i] === '0') {
      zeroPadding = true;
      i++;
    }
    while (isDigit(format[i])) width = width * 10 + Number(format[i++]);
    if (format[i] === '.') {
      offset = sign * width;
      sign = 1;
      width = 0;
      i++;
      zeroPadding = false;
      if (format[i] === '0') {
        zeroPadding = true;
        i++;
      }
      if (format[i] === '-') {
        sign = -1;
        i++;
      }
      while (isDigit(format[i])) width = width * 10 + Number(format[i++]);
      width *= sign;
    }
    const modifiers: Modifier[] = [];
    for (let m = MODIFIERS[format[i] ?? '']; m !== undefined && modifiers.length < 10; m = MODIFIERS[format[i] ?? '']) {
      modifiers.push(m);
      i++;
    }
    let variable: Variable | undefined;
    const key = format[i];
    if (key === undefined) throw new UidlFormatError(`"${format}" ends inside a %-variable`);
    if (key === '{') {
      const close = format.indexOf('}', i);
      const name = close < 0 ? '' : format.slice(i + 1, close);
      if (!LONG.has(name)) throw new UidlFormatError(`%{${name}} is not a variable postel can expand (uid, uidvalidity, filename, guid)`);
      variable = name as Variable;
      i = close + 1;
    } else {
      variable = SHORT[key];
      if (variable === undefined) {
        const why = key === 'm' ? ': %m is the header MD5 Dovecot computes only for mbox, never for Maildir' : '';
        throw new UidlFormatError(`%${key} is not a variable postel can expand (%u %v %f %g)${why}`);
      }
      i++;
    }
    if (literal !== '') pieces.push(literal);
    literal = '';
    pieces.push({ variable, modifiers, offset, width, zeroPadding });
  }
  if (literal !== '') pieces.push(literal);
  if (!pieces.some((p) => typeof p !== 'string')) {
    throw new UidlFormatError(`"${format}" has no variable: every message would show the same UIDL`);
  }
  return (vars) => {
    let out = '';
    for (const piece of pieces) out += typeof piece === 'string' ? piece : expand(piece, vars);
    return out;
  };
}

function expand(field: Field, vars: DovecotUidlVars): string {
  let value = valueOf(field.variable, vars);
  for (const modifier of field.modifiers) value = modifier(value);
  if (field.offset < 0) {
    if (value.length > -field.offset) value = value.slice(value.length + field.offset);
  } else if (field.offset > 0) {
    value = value.slice(field.offset);
  }
  if (field.width === 0) return value;
  if (field.zeroPadding) return value.padStart(field.width, '0');
  const width = field.width < 0 ? value.length + field.width : field.width;
  return value.slice(0, Math.max(width, 0));
}

function valueOf(variable: Variable, vars: DovecotUidlVars): string {
  switch (variable) {
    case 'uid':
      return String(vars.uid);
    case 'uidvalidity':
      return String(vars.uidValidity);
    case 'filename':
      return vars.basename;
    case 'guid':
      return vars.guid ?? vars.basename;
  }
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}
