/**
 * Mailpit-style search: `from:`, `to:`, `subject:`, `before:`, `after:`, `larger:`,
 * `is:unread` / `is:read`, `has:attachment`, and free words; values may be quoted
 * ("two words"); a leading `-` negates a term. Every term must hold. Pure: parsing and
 * matching know nothing of storage.
 */

export type SearchTerm =
  | { readonly kind: 'from' | 'to' | 'subject' | 'text'; readonly value: string; readonly negate: boolean }
  | { readonly kind: 'before' | 'after'; readonly value: Date; readonly negate: boolean }
  | { readonly kind: 'larger'; readonly value: number; readonly negate: boolean }
  | { readonly kind: 'unread' | 'attachment'; readonly value: boolean; readonly negate: boolean };

/** What a term can be matched against. `text` and `attachments` are only read when needed. */
export interface SearchableMessage {
  readonly from: string;
  readonly to: string;
  readonly subject: string;
  readonly date: Date | null;
  readonly size: number;
  readonly seen: boolean;
}

export interface SearchBody {
  readonly text: string;
  readonly attachments: number;
}

export class SearchSyntaxError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SearchSyntaxError';
  }
}

const SIZE_UNITS: Readonly<Record<string, number>> = { '': 1, b: 1, k: 1024, kb: 1024, m: 1024 ** 2, mb: 1024 ** 2, g: 1024 ** 3, gb: 1024 ** 3 };

export function parseSearch(query: string): SearchTerm[] {
  const terms: SearchTerm[] = [];
  // A token: optional '-', optional 'key:', then a quoted or a bare value.
  const token = /\s*(-?)(?:([a-zA-Z]+):)?(?:"([^"]*)"|(\S+))/gy;
  let m: RegExpExecArray | null;
  let rest = query;
  token.lastIndex = 0;
  while (token.lastIndex < query.length && (m = token.exec(query)) !== null) {
    const negate = m[1] === '-';
    const key = m[2]?.toLowerCase();
    const value = m[3] ?? m[4] ?? '';
    terms.push(term(key, value, negate));
    rest = query.slice(token.lastIndex);
  }
  if (rest.trim() !== '') throw new SearchSyntaxError(`cannot read the search from: ${rest.trim()}`);
  return terms;
}

function term(key: string | undefined, value: string, negate: boolean): SearchTerm {
  switch (key) {
    case undefined:
      return { kind: 'text', value: value.toLowerCase(), negate };
    case 'from':
    case 'to':
    case 'subject':
      return { kind: key, value: value.toLowerCase(), negate };
    case 'before':
    case 'after': {
      const date = /^\d{4}-\d{2}-\d{2}(T[\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(value) ? new Date(value) : new Date(NaN);
      if (Number.isNaN(date.getTime())) throw new SearchSyntaxError(`${key}: wants a date like 2026-12-02, not ${value}`);
      return { kind: key, value: date, negate };
    }
    case 'larger': {
      const size = /^(\d{1,12})([a-zA-Z]{0,2})$/.exec(value);
      const unit = size ? SIZE_UNITS[(size[2] ?? '').toLowerCase()] : undefined;
      if (!size || unit === undefined) throw new SearchSyntaxError(`larger: wants a size like 500k or 2M, not ${value}`);
      return { kind: 'larger', value: Number(size[1]) * unit, negate };
    }
    case 'is':
      if (value.toLowerCase() === 'unread') return { kind: 'unread', value: true, negate };
      if (value.toLowerCase() === 'read') return { kind: 'unread', value: false, negate };
      throw new SearchSyntaxError(`is: knows unread and read, not ${value}`);
    case 'has':
      if (value.toLowerCase() === 'attachment' || value.toLowerCase() === 'attachments') return { kind: 'attachment', value: true, negate };
      throw new SearchSyntaxError(`has: knows attachment, not ${value}`);
    default:
      // Not an operator: words with a colon (a URL, a time) are free text.
      return { kind: 'text', value: `${key}:${value}`.toLowerCase(), negate };
  }
}

/** Whether matching needs the parsed body (free text or has:attachment). */
export function needsBody(terms: readonly SearchTerm[]): boolean {
  return terms.some((t) => t.kind === 'text' || t.kind === 'attachment');
}

export function matches(terms: readonly SearchTerm[], message: SearchableMessage, body?: SearchBody): boolean {
  return terms.every((t) => holds(t, message, body) !== t.negate);
}

function holds(t: SearchTerm, m: SearchableMessage, body: SearchBody | undefined): boolean {
  switch (t.kind) {
    case 'from':
      return m.from.toLowerCase().includes(t.value);
    case 'to':
      return m.to.toLowerCase().includes(t.value);
    case 'subject':
      return m.subject.toLowerCase().includes(t.value);
    case 'text':
      return [m.from, m.to, m.subject, body?.text ?? ''].some((s) => s.toLowerCase().includes(t.value));
    case 'before':
      return m.date !== null && m.date.getTime() < t.value.getTime();
    case 'after':
      return m.date !== null && m.date.getTime() > t.value.getTime();
    case 'larger':
      return m.size > t.value;
    case 'unread':
      return !m.seen === t.value;
    case 'attachment':
      return (body?.attachments ?? 0) > 0;
  }
}
