/**
 * RFC 6455 §5.6 and §8.1 over real sockets (Autobahn group 6): text messages
 * must be valid UTF-8 (RFC 3629); "When an endpoint is to interpret a byte
 * stream as UTF-8 but finds that the byte stream is not, in fact, a valid
 * UTF-8 stream, that endpoint MUST _Fail the WebSocket Connection_" (§8.1),
 * with 1007 (§7.4.1).
 *
 * Fail fast: a sequence that can never become valid must fail as soon as its
 * bad byte arrives, across fragments and TCP writes (Autobahn 6.4.x), not when
 * the message ends.
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { binary, cont, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

/** "κόσμε", the Autobahn/Markus Kuhn sample word. */
const KOSME = hex('ce ba e1 bd b9 cf 83 ce bc ce b5');

const VALID: [string, Buffer][] = [
  ['"κόσμε" (2- and 3-byte sequences)', KOSME],
  ['mixed ASCII and Latin-1 range "Hello-µ@ßöäüàá-UTF-8!!"', Buffer.from('Hello-µ@ßöäüàá-UTF-8!!')],
  ['U+0000 (NUL is valid UTF-8)', hex('00')],
  ['U+007F, the last 1-byte code point', hex('7f')],
  ['U+0080, the first 2-byte code point', hex('c2 80')],
  ['U+07FF, the last 2-byte code point', hex('df bf')],
  ['U+0800, the first 3-byte code point', hex('e0 a0 80')],
  ['U+D7FF, just below the surrogates', hex('ed 9f bf')],
  ['U+E000, just above the surrogates', hex('ee 80 80')],
  ['U+FFFD, the replacement character itself', hex('ef bf bd')],
  ['U+FFFE and U+FFFF (noncharacters are still valid UTF-8)', hex('ef bf be ef bf bf')],
  ['U+10000, the first 4-byte code point', hex('f0 90 80 80')],
  ['U+1D11E "𝄞"', Buffer.from('𝄞')],
  ['U+10FFFF, the last code point', hex('f4 8f bf bf')],
];

const INVALID: [string, Buffer][] = [
  ['"κόσμε" then a surrogate then "edited" (Autobahn 6.3.1)', hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64')],
  ['a lone continuation byte 0x80', hex('80')],
  ['a lone continuation byte 0xbf', hex('bf')],
  ['continuation bytes after ASCII "a\\x80\\xbf"', hex('61 80 bf')],
  ['byte 0xfe', hex('fe')],
  ['byte 0xff', hex('ff')],
  ['byte 0xc0 (only ever overlong)', hex('c0')],
  ['byte 0xc1 (only ever overlong)', hex('c1')],
  ['a 2-byte lead followed by ASCII (c2 41)', hex('c2 41')],
  ['a 3-byte lead followed by ASCII after one continuation (e0 a0 41)', hex('e0 a0 41')],
  ['overlong "/" in 2 bytes (c0 af)', hex('c0 af')],
  ['overlong "/" in 3 bytes (e0 80 af)', hex('e0 80 af')],
  ['overlong "/" in 4 bytes (f0 80 80 af)', hex('f0 80 80 af')],
  ['overlong "/" in 5 bytes (f8 80 80 80 af)', hex('f8 80 80 80 af')],
  ['overlong NUL (c0 80)', hex('c0 80')],
  ['largest overlong 2-byte (c1 bf)', hex('c1 bf')],
  ['largest overlong 3-byte (e0 9f bf)', hex('e0 9f bf')],
  ['largest overlong 4-byte (f0 8f bf bf)', hex('f0 8f bf bf')],
  ['surrogate U+D800 (ed a0 80)', hex('ed a0 80')],
  ['surrogate U+DB7F (ed ad bf)', hex('ed ad bf')],
  ['surrogate U+DC00 (ed b0 80)', hex('ed b0 80')],
  ['surrogate U+DFFF (ed bf bf)', hex('ed bf bf')],
  ['a surrogate pair encoded as two 3-byte sequences (ed a0 80 ed b0 80)', hex('ed a0 80 ed b0 80')],
  ['U+110000, above U+10FFFF (f4 90 80 80)', hex('f4 90 80 80')],
  ['a 4-byte sequence with lead f5', hex('f5 80 80 80')],
  ['a 4-byte sequence with lead f7 (f7 bf bf bf)', hex('f7 bf bf bf')],
  ['an old 5-byte sequence (f8 88 80 80 80)', hex('f8 88 80 80 80')],
  ['an old 6-byte sequence (fc 84 80 80 80 80)', hex('fc 84 80 80 80 80')],
];

/** Incomplete only because the message ends: detectable only at FIN. */
const TRUNCATED: [string, Buffer][] = [
  ['a lone 2-byte lead (c2)', hex('c2')],
  ['"€" missing its last byte (e2 82)', hex('e2 82')],
  ['"𝄞" missing its last byte (f0 9d 84)', hex('f0 9d 84')],
  ['"κ" then a truncated 3-byte sequence (ce ba e1 bd)', hex('ce ba e1 bd')],
];

describe('RFC 6455 UTF-8 in text messages (§5.6, §8.1)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  describe('valid UTF-8 is echoed byte for byte', () => {
    for (const [name, bytes] of VALID) {
      it(`${name}: one frame`, async () => {
        const c = await ts.connect();
        c.send(text(bytes));
        await c.expectText(bytes);
      });
    }

    it('"κόσμε" in one fragment per byte (every code point split across fragments)', async () => {
      const c = await ts.connect();
      const frames = [...KOSME].map((byte, i) => (i === 0 ? text(Buffer.of(byte), { fin: false }) : cont(Buffer.of(byte), { fin: i === KOSME.length - 1 })));
      c.send(Buffer.concat(frames));
      await c.expectText(KOSME);
    });

    it('4-byte code points split across fragments and TCP writes', async () => {
      const c = await ts.connect();
      const bytes = Buffer.from('a𝄞b\u{10FFFF}c');
      const frames = Buffer.concat([text(bytes.subarray(0, 3), { fin: false }), cont(bytes.subarray(3, 9), { fin: false }), cont(bytes.subarray(9))]);
      await c.sendChunks(frames, 3, 1);
      await c.expectText(bytes);
    });

    it('binary messages are not validated: invalid UTF-8 in a binary message is echoed', async () => {
      const c = await ts.connect();
      const bytes = hex('ed a0 80 ff fe c0 af');
      c.send(binary(bytes));
      await c.expectBinary(bytes);
    });
  });

  describe('invalid UTF-8 fails the connection with 1007', () => {
    for (const [name, bytes] of INVALID) {
      it(`${name}: in one final frame`, async () => {
        const c = await ts.connect();
        c.send(text(bytes));
        await c.expectFail(1007);
      });

      it(`${name}: as the first fragment of an unfinished message (fail fast)`, async () => {
        const c = await ts.connect();
        c.send(text(bytes, { fin: false }));
        await c.expectFail(1007);
      });
    }

    for (const [name, bytes] of TRUNCATED) {
      it(`${name} at the end of a one-frame message`, async () => {
        const c = await ts.connect();
        c.send(text(bytes));
        await c.expectFail(1007);
      });

      it(`${name} at the end of the final fragment`, async () => {
        const c = await ts.connect();
        c.send(Buffer.concat([text('valid start ', { fin: false }), cont(bytes)]));
        await c.expectFail(1007);
      });
    }

    it('a truncated sequence is not an error while the message is still open', async () => {
      const c = await ts.connect();
      c.send(text(hex('e2 82'), { fin: false }));
      await c.expectNoFrame(50, 'the next fragment may complete the sequence');
      c.send(cont(hex('ac')));
      await c.expectText('€');
    });

    it('a valid message before the invalid one is echoed first', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('valid'), text(hex('ce ba ed a0 80'))]));
      await c.expectText('valid');
      await c.expectFail(1007);
    });
  });

  describe('fail fast: 1007 arrives as soon as the bad byte does (Autobahn 6.4.x)', () => {
    it('an invalid byte in the second of three fragments: 1007 before the third is sent', async () => {
      const c = await ts.connect();
      c.send(text(KOSME, { fin: false }));
      await c.expectNoFrame(30, 'the first fragment is valid');
      c.send(cont(hex('f4 90 80 80 65 64 69 74 65 64'), { fin: false })); // U+110000 then "edited"
      await c.expectFail(1007); // the third fragment is never sent
    });

    it('the invalid byte is the first byte of the second fragment', async () => {
      const c = await ts.connect();
      c.send(text(hex('ce ba e1'), { fin: false })); // ends inside "ό": still valid
      await c.expectNoFrame(30, 'the first fragment is a valid prefix');
      c.send(cont(hex('41 bd b9'), { fin: false })); // ASCII where a continuation byte must be
      await c.expectFail(1007);
    });

    it('an invalid sequence split across two TCP writes inside one frame: 1007 after the second write, rest never sent', async () => {
      const c = await ts.connect();
      const payload = Buffer.concat([KOSME, hex('f4 90 80 80'), Buffer.from('edited and a long tail '.repeat(20))]);
      const wire = text(payload);
      const headerLength = wire.length - payload.length;
      const leadAt = headerLength + KOSME.length; // the 0xf4: a valid lead byte, so far so good
      c.send(wire.subarray(0, leadAt + 1));
      await c.expectNoFrame(50, 'everything so far is a valid prefix');
      c.send(wire.subarray(leadAt + 1, leadAt + 2)); // 0x90: U+110000 and beyond, impossible
      await c.expectFail(1007);
      assert.ok(leadAt + 2 < wire.length, 'the rest of the frame really was held back');
    });

    it('an invalid byte dribbled in the middle of a large frame: 1007 before the frame is complete', async () => {
      const c = await ts.connect();
      const payload = Buffer.concat([Buffer.from('x'.repeat(1000)), hex('c0 af'), Buffer.from('y'.repeat(64000))]);
      const wire = text(payload);
      const badAt = wire.length - payload.length + 1000; // 0xc0 can never start a valid sequence
      c.send(wire.subarray(0, badAt + 1)); // 64 KiB of the payload is never sent
      await c.expectFail(1007);
    });
  });
});
