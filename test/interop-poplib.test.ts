import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { listAndUidl, loginTo, serveSeeded } from './support/interop-cli.js';
import { headerOf, seedMessages } from './support/interop-messages.js';
import { hasProgram, run, type ServerProcess } from './support/server-process.js';
import { crlf } from './support/wire-client.js';

/*
 * Python's poplib, a POP3 client no one here wrote, against a real `postel serve` whose
 * users were added with `postel user add` and whose mail came through `postel deliver`.
 *
 * poplib hands back a multi-line response as lines without their CRLF, with the leading
 * '.' of stuffed lines already removed ("..x" becomes ".x"). A message is rebuilt by
 * appending CRLF to every line, which must give the stored message's CRLF form exactly.
 * Bytes cross the JSON boundary as base64.
 */

const PY = String.raw`
import base64, json, poplib, sys

port, user, password, action = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
b64 = lambda b: base64.b64encode(b).decode('ascii')
text = lambda b: b.decode('latin-1')
out = {}
p = poplib.POP3('127.0.0.1', port, timeout=60)
out['welcome'] = text(p.getwelcome())
if action == 'read':
    out['capa'] = p.capa()
    out['user'] = text(p.user(user))
    out['pass'] = text(p.pass_(password))
    out['stat'] = list(p.stat())
    resp, lines, octets = p.list()
    out['list'] = {'resp': text(resp), 'lines': [text(l) for l in lines]}
    resp, lines, octets = p.uidl()
    out['uidl'] = {'resp': text(resp), 'lines': [text(l) for l in lines]}
    out['retr'] = []
    for n in range(1, out['stat'][0] + 1):
        resp, lines, octets = p.retr(n)
        out['retr'].append({'resp': text(resp), 'message': b64(b''.join(l + b'\r\n' for l in lines))})
    resp, lines, octets = p.top(1, 0)
    out['top'] = {'resp': text(resp), 'message': b64(b''.join(l + b'\r\n' for l in lines))}
    out['quit'] = text(p.quit())
elif action == 'dele':
    p.user(user)
    p.pass_(password)
    out['dele'] = text(p.dele(1))
    out['quit'] = text(p.quit())
elif action == 'badpass':
    p.user(user)
    try:
        p.pass_(password)
        out['error'] = None
    except poplib.error_proto as e:
        out['error'] = text(e.args[0])
    p.quit()
print(json.dumps(out))
`;

interface ReadResult {
  welcome: string;
  capa: Record<string, string[]>;
  user: string;
  pass: string;
  stat: [number, number];
  list: { resp: string; lines: string[] };
  uidl: { resp: string; lines: string[] };
  retr: { resp: string; message: string }[];
  top: { resp: string; message: string };
  quit: string;
}

const pythonMissing = !(await hasProgram('python3'));
const SKIP = 'python3 not installed: cannot check interoperability with poplib';

describe("Python's poplib as a client of a postel server process", () => {
  let seeded: Awaited<ReturnType<typeof serveSeeded>> | undefined;
  let server: ServerProcess;
  const messages = seedMessages();
  const wire = messages.map((m) => crlf(m.bytes));

  async function poplib<T>(user: string, password: string, action: 'read' | 'dele' | 'badpass'): Promise<T> {
    const r = await run('python3', ['-c', PY, String(server.port), user, password, action]);
    assert.equal(r.code, 0, `python3 exit ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout.toString('utf8')) as T;
  }

  before(async () => {
    if (pythonMissing) return;
    seeded = await serveSeeded(messages);
    server = seeded.server;
  });
  after(async () => {
    await seeded?.cleanup();
  });

  it('stat, list, uidl, retr and top agree with the stored messages, byte for byte', async (t) => {
    if (pythonMissing) return t.skip(SKIP);
    const r = await poplib<ReadResult>('alice', 'alice-pw', 'read');
    assert.equal(r.welcome, '+OK postel ready.');
    assert.equal(r.pass, `+OK alice's maildrop has ${messages.length} message${messages.length === 1 ? '' : 's'} (${wire.reduce((n, w) => n + w.length, 0)} octets)`);
    assert.deepEqual(r.stat, [messages.length, wire.reduce((n, w) => n + w.length, 0)]);
    assert.deepEqual(
      r.list.lines,
      wire.map((w, i) => `${i + 1} ${w.length}`),
    );

    const client = await loginTo(server.port, 'alice', 'alice-pw');
    const { uids } = await listAndUidl(client);
    client.close();
    assert.deepEqual(
      r.uidl.lines,
      uids.map((uid, i) => `${i + 1} ${uid}`),
    );

    assert.equal(r.retr.length, messages.length);
    for (const [i, m] of messages.entries()) {
      const got = r.retr[i];
      assert.ok(got);
      assert.equal(got.resp, `+OK ${wire[i]?.length} octets`, m.name);
      const bytes = Buffer.from(got.message, 'base64');
      assert.equal(bytes.length, wire[i]?.length, `${m.name}: length`);
      assert.ok(bytes.equals(wire[i] as Buffer), `${m.name}: bytes differ`);
    }
    assert.ok(Buffer.from(r.top.message, 'base64').equals(headerOf(wire[0] as Buffer)));
    assert.match(r.quit, /^\+OK postel signing off \(0 messages deleted\)$/);
  });

  it('capa() includes the capabilities postel implements, with their arguments', async (t) => {
    if (pythonMissing) return t.skip(SKIP);
    const { capa } = await poplib<ReadResult>('alice', 'alice-pw', 'read');
    const expected: Record<string, string[]> = {
      TOP: [],
      USER: [],
      UIDL: [],
      'RESP-CODES': [],
      'AUTH-RESP-CODE': [],
      PIPELINING: [],
      'LOGIN-DELAY': ['0'],
      EXPIRE: ['NEVER'],
      IMPLEMENTATION: ['postel'],
    };
    // Others (STLS, SASL) depend on how the server is set up; these must be there as given.
    for (const [name, args] of Object.entries(expected)) assert.deepEqual(capa[name], args, `${name} in ${JSON.stringify(capa)}`);
  });

  it('dele(1) and quit() delete the message; the next session no longer has it', async (t) => {
    if (pythonMissing) return t.skip(SKIP);
    const r = await poplib<{ dele: string; quit: string }>('bob', 'bob-pw', 'dele');
    assert.equal(r.dele, '+OK Message 1 deleted');
    assert.equal(r.quit, '+OK postel signing off (1 message deleted)');
    const after = await poplib<ReadResult>('bob', 'bob-pw', 'read');
    assert.deepEqual(after.stat, [2, (wire[1]?.length ?? 0) + (wire[2]?.length ?? 0)]);
    assert.ok(Buffer.from(after.retr[0]?.message ?? '', 'base64').equals(wire[1] as Buffer));
  });

  it('a wrong password raises error_proto carrying -ERR [AUTH]', async (t) => {
    if (pythonMissing) return t.skip(SKIP);
    const r = await poplib<{ error: string | null }>('alice', 'wrong', 'badpass');
    assert.equal(r.error, '-ERR [AUTH] Authentication failed');
  });
});
