import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { GERMAN } from './de.js';
import { ENGLISH_TEXTS } from './en.js';
import { LANGUAGES, localize, matchLanguage } from './index.js';

const placeholders = (text: string): string[] => [...text.matchAll(/\{(\w+)\}/g)].map((m) => m[1] as string).sort();

describe('response texts in several languages', () => {
  it('every language translates every English text with the same placeholders', () => {
    for (const language of LANGUAGES) {
      if (language.texts === null) continue;
      assert.deepEqual(Object.keys(language.texts).sort(), [...ENGLISH_TEXTS].sort(), language.tag);
      for (const english of ENGLISH_TEXTS) assert.deepEqual(placeholders(language.texts[english] as string), placeholders(english), `${language.tag}: ${english}`);
    }
  });

  it('localizes status lines: the text, never the status, the response code or data', () => {
    assert.equal(localize('-ERR [AUTH] Authentication failed', 'de'), '-ERR [AUTH] Anmeldung fehlgeschlagen');
    assert.equal(localize('+OK Message 3 deleted', 'de'), '+OK Nachricht 3 gelöscht');
    assert.equal(localize("+OK bob's maildrop has 2 messages (320 octets)", 'de'), '+OK Postfach von bob enthält 2 Nachrichten (320 Oktette)');
    assert.equal(localize('+OK postel ready. <1.2@h>', 'de'), '+OK postel bereit. <1.2@h>');
    assert.equal(localize('+OK 2 320', 'de'), '+OK 2 320');
    assert.equal(localize('+OK 1 0000000100000001', 'de'), '+OK 1 0000000100000001');
    assert.equal(localize('-ERR something new', 'de'), '-ERR something new', 'an unknown text stays English');
    assert.equal(localize('-ERR Unknown command', 'en'), '-ERR Unknown command');
    assert.equal(GERMAN['Unknown command'], 'Unbekannter Befehl');
  });

  it('matches language ranges: basic filtering, then lookup; * and i-default are English', () => {
    assert.equal(matchLanguage('de')?.tag, 'de');
    assert.equal(matchLanguage('de-at')?.tag, 'de');
    assert.equal(matchLanguage('*')?.tag, 'en');
    assert.equal(matchLanguage('i-default')?.tag, 'en');
    assert.equal(matchLanguage('en-gb')?.tag, 'en');
    assert.equal(matchLanguage('fr'), undefined);
  });
});
