import { Pop3Error } from '../errors.js';
import type { CommandOf } from '../parser.js';
import type { AuthorizationState, TransactionState } from '../state.js';
import { LANGUAGES, matchLanguage } from '../texts/index.js';
import type { Handler } from './context.js';

/**
 * RFC 6856 UTF8, in AUTHORIZATION only: from now on USER and PASS take UTF-8 (prepared with
 * SASLprep) and messages with UTF-8 header fields are sent as stored, not downgraded.
 */
export const utf8: Handler<AuthorizationState, CommandOf<'UTF8'>> = async (_command, state) => {
  if (state.options.utf8) return { reply: '+OK UTF8 is already enabled' };
  return { next: { ...state, options: { ...state.options, utf8: true } }, reply: '+OK UTF8 enabled' };
};

/**
 * RFC 6856 LANG, in AUTHORIZATION and TRANSACTION: without an argument it lists the
 * languages (tag and name); with a language range it switches, and says so in the new
 * language (the session localizes the reply after the state changed).
 */
export const lang: Handler<AuthorizationState | TransactionState, CommandOf<'LANG'>> = async ({ range }, state) => {
  if (range === undefined) {
    return { reply: { status: '+OK Language listing follows', lines: LANGUAGES.map((l) => `${l.tag} ${l.description}`) } };
  }
  const language = matchLanguage(range);
  if (language === undefined) throw new Pop3Error(`No language matches ${range}`);
  return { next: { ...state, options: { ...state.options, language: language.tag } }, reply: `+OK ${language.tag} Language changed` };
};
