import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { test } from 'node:test';
import { parseShaCryptSetting, shaCrypt } from './sha-crypt.js';

async function crypt(password: string, setting: string): Promise<string> {
  const parsed = parseShaCryptSetting(setting);
  assert.ok(parsed, `not a SHA-crypt setting: ${setting}`);
  return (await shaCrypt(password, parsed)).toString('utf8');
}

const LONG_TEXT = 'a very much longer text to encrypt.  This one even stretches over morethan one line.';

/** The test vectors of Drepper's "Unix crypt using SHA-256 and SHA-512". */
const SPEC_VECTORS: ReadonlyArray<readonly [setting: string, password: string, expected: string]> = [
  ['$6$saltstring', 'Hello world!',
    '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1'],
  ['$6$rounds=10000$saltstringsaltstring', 'Hello world!',
    '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.'],
  ['$6$rounds=5000$toolongsaltstring', 'This is just a test',
    '$6$rounds=5000$toolongsaltstrin$lQ8jolhgVRVhY4b5pZKaysCLi0QBxGoNeKQzQ3glMhwllF7oGDZxUhx1yxdYcz/e1JSbq3y6JMxxl8audkUEm0'],
  ['$6$rounds=1400$anotherlongsaltstring', LONG_TEXT,
    '$6$rounds=1400$anotherlongsalts$POfYwTEok97VWcjxIiSOjiykti.o/pQs.wPvMxQ6Fm7I6IoYN3CmLs66x9t0oSwbtEW7o7UmJEiDwGqd8p4ur1'],
  ['$6$rounds=77777$short', 'we have a short salt string but not a short password',
    '$6$rounds=77777$short$WuQyW2YR.hBNpjjRhpYD/ifIw05xdfeEyQoMxIXbkvr0gge1a1x3yRULJ5CCaUeOxFmtlcGZelFl5CxtgfiAc0'],
  ['$6$rounds=123456$asaltof16chars..', 'a short string',
    '$6$rounds=123456$asaltof16chars..$BtCwjqMJGx5hrJhZywWvt0RLE8uZ4oPwcelCjmw2kSYu.Ec6ycULevoBK25fs2xXgMNrCzIMVcgEJAstJeonj1'],
  ['$6$rounds=10$roundstoolow', 'the minimum number is still observed',
    '$6$rounds=1000$roundstoolow$kUMsbe306n21p9R.FRkW3IGn.S9NPN0x50YhH1xhLsPuWGsUSklZt58jaTfF4ZEQpyUNGc0dqbpBYYBaHHrsX.'],
  ['$5$saltstring', 'Hello world!', '$5$saltstring$5B8vYYiY.CVt1RlTTf8KbXBH3hsxY/GNooZaBBGWEc5'],
  ['$5$rounds=10000$saltstringsaltstring', 'Hello world!',
    '$5$rounds=10000$saltstringsaltst$3xv.VbSHBb41AL9AvLeujZkZRBAwqFMz2.opqey6IcA'],
  ['$5$rounds=5000$toolongsaltstring', 'This is just a test',
    '$5$rounds=5000$toolongsaltstrin$Un/5jzAHMgOGZ5.mWJpuVolil07guHPvOW8mGRcvxa5'],
  ['$5$rounds=1400$anotherlongsaltstring', LONG_TEXT,
    '$5$rounds=1400$anotherlongsalts$Rx.j8H.h8HjEDGomFU8bDkXm3XIUnzyxf12oP84Bnq1'],
  ['$5$rounds=77777$short', 'we have a short salt string but not a short password',
    '$5$rounds=77777$short$JiO1O3ZpDAxGJeaDIuqCoEFysAe1mZNJRs3pw0KQRd/'],
  ['$5$rounds=123456$asaltof16chars..', 'a short string',
    '$5$rounds=123456$asaltof16chars..$gP3VQ/6X7UUEW3HkBn2w1/Ptq2jxPyzV/cZKmF/wJvD'],
  ['$5$rounds=10$roundstoolow', 'the minimum number is still observed',
    '$5$rounds=1000$roundstoolow$yfvwcWrQ8l/K0DAWyuPMDNHpIVlTQebY9l/gL972bIC'],
];

test('SHA-crypt reproduces the test vectors of the specification', async () => {
  for (const [setting, password, expected] of SPEC_VECTORS) {
    assert.equal(await crypt(password, setting), expected, setting);
  }
});

test('a stored hash works as its own setting', async () => {
  for (const [, password, expected] of SPEC_VECTORS) {
    const rounds = parseShaCryptSetting(expected)?.rounds ?? 0;
    // The slow vectors add time but nothing new here.
    if (rounds <= 10_000) assert.equal(await crypt(password, expected), expected);
  }
});

test('settings are read the way glibc reads them', () => {
  const parse = (setting: string) => {
    const parsed = parseShaCryptSetting(setting);
    assert.ok(parsed);
    return { prefix: parsed.variant.prefix, rounds: parsed.rounds, custom: parsed.customRounds, salt: parsed.salt.toString() };
  };
  assert.deepEqual(parse('$6$abc'), { prefix: '$6$', rounds: 5000, custom: false, salt: 'abc' });
  assert.deepEqual(parse('$5$abc$rest'), { prefix: '$5$', rounds: 5000, custom: false, salt: 'abc' });
  assert.deepEqual(parse('$6$'), { prefix: '$6$', rounds: 5000, custom: false, salt: '' });
  assert.deepEqual(parse('$6$rounds=10$x'), { prefix: '$6$', rounds: 1000, custom: true, salt: 'x' });
  assert.deepEqual(parse('$6$rounds=5000$x'), { prefix: '$6$', rounds: 5000, custom: true, salt: 'x' });
  assert.deepEqual(parse('$6$rounds=99999999999999999999$x'), { prefix: '$6$', rounds: 999_999_999, custom: true, salt: 'x' });
  // Not a number followed by '$': glibc takes the text as salt.
  assert.deepEqual(parse('$6$rounds=abc$x'), { prefix: '$6$', rounds: 5000, custom: false, salt: 'rounds=abc' });
  assert.deepEqual(parse('$6$0123456789abcdefXYZ$'), { prefix: '$6$', rounds: 5000, custom: false, salt: '0123456789abcdef' });
  assert.equal(parseShaCryptSetting('$1$abc$def'), undefined);
  assert.equal(parseShaCryptSetting('abc'), undefined);
});

/*
 * Cross-check against an implementation written elsewhere: Python's crypt module calls the
 * system's crypt(3). It exists up to Python 3.12; libxcrypt refuses rounds below 1000 and
 * salts outside [./0-9A-Za-z], so the cases stay within what both accept.
 */
interface PythonCase {
  readonly password: string;
  readonly setting: string;
}

function pythonCrypt(cases: readonly PythonCase[]): string[] | string {
  const script = [
    'import sys, json, warnings',
    'warnings.simplefilter("ignore")',
    'import crypt',
    'cases = json.load(sys.stdin)',
    'print(json.dumps([crypt.crypt(c["password"], c["setting"]) for c in cases]))',
  ].join('\n');
  const run = spawnSync('python3', ['-c', script], { input: JSON.stringify(cases), encoding: 'utf8', timeout: 120_000 });
  if (run.error !== undefined) return `python3 could not be run (${run.error.message})`;
  if (run.status !== 0) return `python3 has no usable crypt module (${run.stderr.trim().split('\n').pop() ?? ''})`;
  const results: unknown = JSON.parse(run.stdout);
  if (!Array.isArray(results) || results.some((r) => typeof r !== 'string' || !r.startsWith('$'))) {
    return 'the system crypt(3) does not support SHA-crypt';
  }
  return results as string[];
}

function pythonCases(): PythonCase[] {
  const passwords = [
    '',
    'a',
    'Hello world!',
    'pässwörd ✓ 日本語 🔑',
    'x'.repeat(31),
    'y'.repeat(32),
    'z'.repeat(33),
    'p'.repeat(63),
    'q'.repeat(64),
    'r'.repeat(65),
    'long '.repeat(60),
    'ünïcødé '.repeat(20),
  ];
  const settings = ['saltstring', 'ab', '', 'abcdefghijklmnop', 'abcdefghijklmnopqrstuvwxyz', 'rounds=1000$./09AZaz', 'rounds=5000$s', 'rounds=1234$Q/x.y'];
  const cases: PythonCase[] = [];
  passwords.forEach((password, i) => {
    for (const prefix of ['$5$', '$6$']) {
      // Every password with two settings, rotating through all of them.
      for (const offset of [0, 1]) {
        cases.push({ password, setting: prefix + settings[(i * 2 + offset) % settings.length] });
      }
    }
  });
  cases.push({ password: 'rounds', setting: '$6$rounds=20000$more' }, { password: 'rounds', setting: '$5$rounds=20000$more' });
  return cases;
}

test('SHA-crypt agrees with the system crypt(3) via Python', async (t) => {
  const cases = pythonCases();
  const expected = pythonCrypt(cases);
  if (typeof expected === 'string') {
    t.skip(`cross-check skipped: ${expected}`);
    return;
  }
  assert.equal(expected.length, cases.length);
  for (const [i, c] of cases.entries()) {
    assert.equal(await crypt(c.password, c.setting), expected[i], `${JSON.stringify(c.password)} with ${c.setting}`);
  }
});
