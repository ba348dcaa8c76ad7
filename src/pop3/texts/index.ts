import { GERMAN } from './de.js';
import { ENGLISH_TEXTS } from './en.js';

/**
 * The languages of human-readable response texts (RFC 6856 LANG). English is what handlers
 * write; another language is a table from the English catalogue (en.ts) to its texts, and
 * localize() rewrites a status line through it. Response codes, and replies that carry
 * data rather than text, pass unchanged.
 */
export interface Language {
  /** RFC 5646 tag. */
  readonly tag: string;
  /** The language's name in itself, for the LANG listing. */
  readonly description: string;
  readonly texts: Readonly<Record<string, string>> | null;
}

export const DEFAULT_LANGUAGE = 'en';

export const LANGUAGES: readonly Language[] = [
  { tag: 'en', description: 'English', texts: null },
  { tag: 'de', description: 'Deutsch', texts: GERMAN },
];

/**
 * The language for an RFC 4647 range: `*` is the default; otherwise the first language the
 * range matches by basic filtering (`de` matches `de-CH`), else by lookup (`de-ch` falls
 * back to `de`). RFC 2277's `i-default` is English.
 */
export function matchLanguage(range: string): Language | undefined {
  const wanted = range.toLowerCase();
  if (wanted === '*' || wanted === 'i-default') return languageOf(DEFAULT_LANGUAGE);
  const filtered = LANGUAGES.find((l) => l.tag === wanted || l.tag.startsWith(`${wanted}-`));
  if (filtered) return filtered;
  for (let r = wanted; r.includes('-'); ) {
    r = r.slice(0, r.lastIndexOf('-'));
    const found = LANGUAGES.find((l) => l.tag === r);
    if (found) return found;
  }
  return undefined;
}

function languageOf(tag: string): Language {
  return LANGUAGES.find((l) => l.tag === tag) ?? (LANGUAGES[0] as Language);
}

interface Pattern {
  readonly english: string;
  readonly regex: RegExp;
  readonly names: readonly string[];
}

/** Templates with placeholders, matched in catalogue order; exact texts are looked up directly. */
const PATTERNS: readonly Pattern[] = ENGLISH_TEXTS.filter((t) => t.includes('{')).map((english) => {
  const names: string[] = [];
  const source = english.replace(/\{(\w+)\}|[.*+?^$()[\]\\|]/g, (m, name: string | undefined) => {
    if (name === undefined) return `\\${m}`;
    names.push(name);
    return '(.+?)';
  });
  return { english, regex: new RegExp(`^${source}$`), names };
});

/** One status line (`+OK text`, `-ERR [CODE] text`, or a bare text) in `tag`'s language. */
export function localize(line: string, tag: string): string {
  if (tag === DEFAULT_LANGUAGE) return line;
  const texts = languageOf(tag).texts;
  if (texts === null) return line;
  const prefix = /^(?:\+OK |-ERR (?:\[[^\]]*\] )?)?/.exec(line)?.[0] ?? '';
  return prefix + translate(line.slice(prefix.length), texts);
}

function translate(text: string, texts: Readonly<Record<string, string>>): string {
  const exact = Object.hasOwn(texts, text) ? texts[text] : undefined;
  if (exact !== undefined) return exact;
  for (const p of PATTERNS) {
    const m = p.regex.exec(text);
    const target = m === null ? undefined : texts[p.english];
    if (m === null || target === undefined) continue;
    return target.replace(/\{(\w+)\}/g, (whole, name: string) => {
      const i = p.names.indexOf(name);
      return i < 0 ? whole : (m[i + 1] as string);
    });
  }
  return text;
}
