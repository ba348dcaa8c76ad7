import assert from 'node:assert/strict';
import { constants, createHmac, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { JwtValidator, type JwtValidatorOptions } from './jwt-validator.js';
import { FileKeySource, OAuthKeyError, parseKeys, staticKeySource } from './keys.js';

const ISSUER = 'https://id.example.org';
const AUDIENCE = 'pop.example.org';
const NOW = Date.UTC(2025, 0, 1) / 1000;

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });
const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const ed = generateKeyPairSync('ed25519');
const other = generateKeyPairSync('ec', { namedCurve: 'P-256' });
const smallRsa = generateKeyPairSync('rsa', { modulusLength: 1024 });

type Signer = { alg: string; key: KeyObject; kid?: string };

function b64url(value: unknown): string {
  return Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
}

/** Signs a JWT with node:crypto directly, as an issuer would. */
function jwt(signer: Signer, claims: Record<string, unknown>, header: Record<string, unknown> = {}): string {
  const input = `${b64url({ alg: signer.alg, typ: 'JWT', ...(signer.kid && { kid: signer.kid }), ...header })}.${b64url(claims)}`;
  const data = Buffer.from(input);
  let signature: Buffer;
  switch (signer.alg) {
    case 'RS256':
      signature = sign('sha256', data, signer.key);
      break;
    case 'PS256':
      signature = sign('sha256', data, { key: signer.key, padding: constants.RSA_PKCS1_PSS_PADDING, saltLength: 32 });
      break;
    case 'ES256':
      signature = sign('sha256', data, { key: signer.key, dsaEncoding: 'ieee-p1363' });
      break;
    case 'EdDSA':
      signature = sign(null, data, signer.key);
      break;
    default:
      throw new Error(signer.alg);
  }
  return `${input}.${signature.toString('base64url')}`;
}

function claims(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { iss: ISSUER, aud: AUDIENCE, sub: 'u-123', email: 'alice@example.org', exp: NOW + 300, iat: NOW - 10, ...extra };
}

function jwks(): string {
  const jwk = (pair: { publicKey: KeyObject }, kid: string, alg?: string) => ({ ...pair.publicKey.export({ format: 'jwk' }), kid, use: 'sig', ...(alg && { alg }) });
  return JSON.stringify({
    keys: [
      jwk(rsa, 'rsa-1'),
      jwk(ec, 'ec-1', 'ES256'),
      jwk(ed, 'ed-1'),
      // Not for signatures: skipped.
      { ...other.publicKey.export({ format: 'jwk' }), kid: 'enc-1', use: 'enc' },
      { kty: 'oct', k: 'c2VjcmV0', kid: 'hmac-1' },
    ],
  });
}

let dir: string;
let jwksPath: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'postel-oauth-'));
  jwksPath = join(dir, 'jwks.json');
  await writeFile(jwksPath, jwks());
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

function validator(overrides: Partial<JwtValidatorOptions> = {}): JwtValidator {
  return new JwtValidator({ keys: new FileKeySource(jwksPath), issuer: ISSUER, audience: AUDIENCE, now: () => NOW * 1000, ...overrides });
}

describe('JwtValidator', () => {
  for (const signer of [
    { alg: 'RS256', key: rsa.privateKey, kid: 'rsa-1' },
    { alg: 'PS256', key: rsa.privateKey, kid: 'rsa-1' },
    { alg: 'ES256', key: ec.privateKey, kid: 'ec-1' },
    { alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' },
    { alg: 'ES256', key: ec.privateKey },
  ]) {
    test(`accepts ${signer.alg}${signer.kid ? '' : ' without kid'} from a JWKS file`, async () => {
      assert.deepEqual(await validator().validate(jwt(signer, claims())), { ok: true, user: 'alice@example.org' });
    });
  }

  test('refuses a tampered payload or signature', async () => {
    const token = jwt({ alg: 'ES256', key: ec.privateKey, kid: 'ec-1' }, claims());
    const [header, , signature] = token.split('.');
    const forged = `${header}.${b64url(claims({ email: 'admin@example.org' }))}.${signature}`;
    assert.deepEqual(await validator().validate(forged), { ok: false, reason: 'bad signature' });
    const flipped = token.slice(0, -2) + (token.at(-2) === 'A' ? 'B' : 'A') + token.at(-1);
    assert.equal((await validator().validate(flipped)).ok, false);
  });

  test('refuses keys that are not configured, and keys used for the wrong algorithm', async () => {
    const cases: [string, RegExp][] = [
      [jwt({ alg: 'ES256', key: other.privateKey }, claims()), /bad signature/],
      [jwt({ alg: 'ES256', key: other.privateKey, kid: 'enc-1' }, claims()), /no key enc-1/],
      [jwt({ alg: 'ES256', key: ec.privateKey, kid: 'nope' }, claims()), /no key nope/],
      // The JWK says ES256 only... and an RSA algorithm cannot use an EC key anyway.
      [jwt({ alg: 'RS256', key: rsa.privateKey, kid: 'ec-1' }, claims()), /no key ec-1/],
    ];
    for (const [token, reason] of cases) {
      const result = await validator().validate(token);
      assert.ok(!result.ok);
      assert.match(result.reason, reason);
    }
  });

  test('refuses alg none, HMAC with the public key as secret, and unknown critical headers', async () => {
    const unsigned = `${b64url({ alg: 'none' })}.${b64url(claims())}.`;
    assert.equal((await validator().validate(unsigned)).ok, false);
    const input = `${b64url({ alg: 'HS256', kid: 'hmac-1' })}.${b64url(claims())}`;
    const hs = `${input}.${createHmac('sha256', 'secret').update(input).digest('base64url')}`;
    const result = await validator().validate(hs);
    assert.ok(!result.ok);
    assert.match(result.reason, /algorithm HS256/);
    const crit = jwt({ alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' }, claims(), { crit: ['exp'] });
    assert.equal((await validator().validate(crit)).ok, false);
    // Only the algorithms configured.
    const es = jwt({ alg: 'ES256', key: ec.privateKey, kid: 'ec-1' }, claims());
    assert.equal((await validator({ algorithms: ['EdDSA'] }).validate(es)).ok, false);
  });

  test('refuses HS256 signed with the public key as the HMAC secret (the key confusion attack)', async () => {
    for (const secret of [rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString(), JSON.stringify(rsa.publicKey.export({ format: 'jwk' }))]) {
      const input = `${b64url({ alg: 'HS256', typ: 'JWT', kid: 'rsa-1' })}.${b64url(claims())}`;
      const token = `${input}.${createHmac('sha256', secret).update(input).digest('base64url')}`;
      const result = await validator().validate(token);
      assert.ok(!result.ok);
      assert.match(result.reason, /algorithm HS256 not accepted/);
    }
  });

  test('typ, when present, must be at+jwt, application/at+jwt or JWT (RFC 9068), in any case', async () => {
    const signer = { alg: 'ES256', key: ec.privateKey, kid: 'ec-1' };
    for (const typ of ['at+jwt', 'application/at+jwt', 'JWT', 'jwt', 'AT+JWT', 'Application/AT+JWT']) {
      assert.equal((await validator().validate(jwt(signer, claims(), { typ }))).ok, true, typ);
    }
    for (const typ of ['JOSE', 'id_token+jwt', 'secevent+jwt', 'at+jwt2', 42]) {
      const result = await validator().validate(jwt(signer, claims(), { typ }));
      assert.ok(!result.ok, String(typ));
      assert.match(result.reason, /token type .* not accepted/);
    }
  });

  test('iss, aud and exp are required', async () => {
    const signer = { alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' };
    for (const missing of ['iss', 'aud', 'exp']) {
      const result = await validator().validate(jwt(signer, claims({ [missing]: undefined })));
      assert.ok(!result.ok, missing);
      assert.match(result.reason, new RegExp(missing));
    }
  });

  test('checks issuer, audience, expiry and not-before with leeway', async () => {
    const signer = { alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' };
    const check = async (extra: Record<string, unknown>) => (await validator().validate(jwt(signer, claims(extra)))).ok;
    assert.equal(await check({ iss: 'https://evil.example' }), false);
    assert.equal(await check({ aud: 'other-service' }), false);
    assert.equal(await check({ aud: ['other-service', AUDIENCE] }), true);
    assert.equal(await check({ aud: undefined }), false);
    assert.equal(await check({ exp: undefined }), false);
    assert.equal(await check({ exp: String(NOW + 300) }), false);
    assert.equal(await check({ exp: NOW - 30 }), true, 'within the 60 s leeway');
    assert.equal(await check({ exp: NOW - 61 }), false);
    assert.equal(await check({ nbf: NOW + 30 }), true);
    assert.equal(await check({ nbf: NOW + 90 }), false);
    assert.equal(await check({ iat: NOW + 90 }), false);
    assert.equal((await validator({ leewaySeconds: 0 }).validate(jwt(signer, claims({ exp: NOW - 1 })))).ok, false);
  });

  test('maps email, then sub, or the configured claims to a user', async () => {
    const signer = { alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' };
    assert.deepEqual(await validator().validate(jwt(signer, claims({ email: undefined }))), { ok: true, user: 'u-123' });
    assert.deepEqual(await validator().validate(jwt(signer, claims({ email_verified: false }))), { ok: true, user: 'u-123' });
    assert.deepEqual(await validator({ userClaims: ['preferred_username'] }).validate(jwt(signer, claims({ preferred_username: 'alice' }))), {
      ok: true,
      user: 'alice',
    });
    assert.equal((await validator({ userClaims: ['upn'] }).validate(jwt(signer, claims()))).ok, false);
  });

  test('a required scope must be granted', async () => {
    const signer = { alg: 'EdDSA', key: ed.privateKey, kid: 'ed-1' };
    const v = validator({ requiredScope: 'pop3' });
    assert.equal((await v.validate(jwt(signer, claims({ scope: 'openid pop3' })))).ok, true);
    assert.equal((await v.validate(jwt(signer, claims({ scp: ['pop3'] })))).ok, true);
    assert.equal((await v.validate(jwt(signer, claims({ scope: 'openid' })))).ok, false);
  });

  test('malformed tokens are refused, not thrown', async () => {
    for (const token of ['', 'a.b', 'a.b.c.d.e', '!!.!!.!!', `${b64url('[]')}.${b64url(claims())}.AAAA`, `${b64url({ alg: 'ES256' })}.${b64url('"x"')}.AAAA`, 'x'.repeat(20000)]) {
      assert.equal((await validator().validate(token)).ok, false, token.slice(0, 40));
    }
  });

  test('PEM public keys and certificates work too; a private key is refused', async () => {
    const pem = rsa.publicKey.export({ format: 'pem', type: 'spki' }).toString() + ed.publicKey.export({ format: 'pem', type: 'spki' }).toString();
    const keys = parseKeys(pem);
    assert.equal(keys.length, 2);
    const v = validator({ keys: staticKeySource(keys) });
    assert.equal((await v.validate(jwt({ alg: 'RS256', key: rsa.privateKey }, claims()))).ok, true);
    assert.equal((await v.validate(jwt({ alg: 'EdDSA', key: ed.privateKey, kid: 'anything' }, claims()))).ok, false, 'PEM keys have no kid');
    assert.equal((await v.validate(jwt({ alg: 'EdDSA', key: ed.privateKey }, claims()))).ok, true);
    assert.throws(() => parseKeys(ed.privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()), OAuthKeyError);
    assert.throws(() => parseKeys(JSON.stringify(ed.privateKey.export({ format: 'jwk' }))), OAuthKeyError);
    assert.throws(() => parseKeys('nothing here'), OAuthKeyError);
  });

  test('RSA keys under 2048 bits are not used', async () => {
    const v = validator({ keys: staticKeySource(parseKeys(smallRsa.publicKey.export({ format: 'pem', type: 'spki' }).toString())) });
    assert.equal((await v.validate(jwt({ alg: 'RS256', key: smallRsa.privateKey }, claims()))).ok, false);
  });

  test('a missing key file is a temporary failure; a rotated one is re-read', async () => {
    const path = join(dir, 'rotating.json');
    const v = validator({ keys: new FileKeySource(path) });
    const token = jwt({ alg: 'ES256', key: other.privateKey, kid: 'new' }, claims());
    const missing = await v.validate(token);
    assert.ok(!missing.ok);
    assert.equal(missing.temporary, true);
    assert.match(missing.reason, /rotating\.json/);
    await writeFile(path, jwks());
    assert.equal((await v.validate(token)).ok, false);
    await writeFile(path, JSON.stringify({ keys: [{ ...other.publicKey.export({ format: 'jwk' }), kid: 'new' }] }));
    assert.equal((await v.validate(token)).ok, true);
  });

  test('needs an issuer and an audience', () => {
    const keys = staticKeySource([]);
    assert.throws(() => new JwtValidator({ keys, issuer: '', audience: AUDIENCE }), RangeError);
    assert.throws(() => new JwtValidator({ keys, issuer: ISSUER, audience: [] }), RangeError);
    assert.throws(() => new JwtValidator({ keys, issuer: ISSUER, audience: AUDIENCE, algorithms: ['HS256'] }), RangeError);
  });
});
