/**
 * RFC 6455 §5.1, §5.2, §5.7 over real sockets: the base framing protocol.
 * (Autobahn group 1: exact echo of 0 B to 64 KiB, in one write or dribbled.)
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';

import { OP, binary, frame, ping, seededBytes, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

/** `n` bytes of printable ASCII, so a text payload's byte length is exactly `n`. */
function asciiOf(n: number, seed = n + 1): string {
  const bytes = seededBytes(n, seed);
  for (let i = 0; i < n; i++) bytes[i] = 0x20 + (bytes[i] % 95);
  return bytes.toString('latin1');
}

describe('RFC 6455 framing (§5.1, §5.2, §5.7)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  describe('§5.7 the RFC\'s own example frames', () => {
    it('single-frame masked text "Hello" (0x81 0x85 0x37 0xfa 0x21 0x3d …) is echoed as 0x81 0x05 "Hello"', async () => {
      const wire = Buffer.from('818537fa213d7f9f4d5158', 'hex');
      // The builder reproduces the RFC bytes exactly when given the RFC's mask.
      assert.deepEqual(text('Hello', { maskKey: Buffer.from('37fa213d', 'hex') }), wire);
      const c = await ts.connect();
      c.send(wire);
      const echo = await c.expectText('Hello');
      assert.equal(echo.wire.toString('hex'), '810548656c6c6f', 'the RFC\'s unmasked "Hello" frame');
    });

    it('fragmented text "Hel" + "lo" (0x01 0x03 …, 0x80 0x02 …) is echoed as one message', async () => {
      const c = await ts.connect();
      const first = frame({ opcode: OP.TEXT, fin: false, payload: 'Hel' });
      const last = frame({ opcode: OP.CONT, fin: true, payload: 'lo' });
      // Header bytes as in the RFC, plus the MASK bit a client must set.
      assert.equal(first[0], 0x01);
      assert.equal(first[1], 0x83);
      assert.equal(last[0], 0x80);
      assert.equal(last[1], 0x82);
      c.send(Buffer.concat([first, last]));
      const echo = await c.expectText('Hello');
      assert.equal(echo.wire.toString('hex'), '810548656c6c6f');
    });

    it('ping "Hello" is answered by the unmasked pong 0x8a 0x05 "Hello"', async () => {
      const c = await ts.connect();
      c.send(ping('Hello'));
      const pong = await c.expectPong('Hello');
      assert.equal(pong.wire.toString('hex'), '8a0548656c6c6f');
    });

    it('256-byte binary message uses the 16-bit length form (0x82 0x7e 0x01 0x00)', async () => {
      const payload = seededBytes(256, 7);
      const c = await ts.connect();
      const sent = binary(payload);
      assert.equal(sent.subarray(0, 4).toString('hex'), '82fe0100');
      c.send(sent);
      const echo = await c.expectBinary(payload);
      assert.equal(echo.wire.subarray(0, 4).toString('hex'), '827e0100');
      assert.equal(echo.wire.length, 4 + 256);
    });

    it('65536-byte binary message uses the 64-bit length form (0x82 0x7f 0x0000000000010000)', async () => {
      const payload = seededBytes(65536, 8);
      const c = await ts.connect();
      const sent = binary(payload);
      assert.equal(sent.subarray(0, 10).toString('hex'), '82ff0000000000010000');
      c.send(sent);
      const echo = await c.expectBinary(payload);
      assert.equal(echo.wire.subarray(0, 10).toString('hex'), '827f0000000000010000');
      assert.equal(echo.wire.length, 10 + 65536);
    });
  });

  describe('§5.2 payload lengths around the 7/16/64-bit boundaries echo exactly', () => {
    for (const n of [0, 1, 125, 126, 127, 128, 65535, 65536]) {
      it(`text of ${n} bytes`, async () => {
        const c = await ts.connect();
        const payload = asciiOf(n);
        c.send(text(payload));
        await c.expectText(payload);
      });
      it(`binary of ${n} bytes`, async () => {
        const c = await ts.connect();
        const payload = seededBytes(n, n + 100);
        c.send(binary(payload));
        await c.expectBinary(payload);
      });
    }
  });

  describe('TCP segmentation does not matter', () => {
    it('a 7-bit-length text frame dribbled 1 byte per TCP write is echoed', async () => {
      const c = await ts.connect();
      const payload = 'Hello, dribbled world';
      await c.sendChunks(text(payload), 1, 2);
      await c.expectText(payload);
    });

    it('a 16-bit-length binary frame dribbled 1 byte per TCP write is echoed', async () => {
      const c = await ts.connect();
      const payload = seededBytes(130, 5);
      await c.sendChunks(binary(payload), 1, 1);
      await c.expectBinary(payload);
    });

    it('a 64-bit-length binary frame written in 997-byte pieces is echoed', async () => {
      const c = await ts.connect();
      const payload = seededBytes(70000, 6);
      await c.sendChunks(binary(payload), 997, 0);
      await c.expectBinary(payload, 3000);
    });

    it('100 frames in one TCP write are echoed in order', async () => {
      const c = await ts.connect();
      const messages = Array.from({ length: 100 }, (_, i) => (i % 2 === 0 ? `message ${i}` : seededBytes(i, i)));
      c.send(Buffer.concat(messages.map((m) => (typeof m === 'string' ? text(m) : binary(m)))));
      for (const m of messages) {
        if (typeof m === 'string') await c.expectText(m);
        else await c.expectBinary(m);
      }
    });
  });

  describe('§5.1 masking', () => {
    it('an unmasked text frame from the client fails the connection with 1002', async () => {
      const c = await ts.connect();
      c.send(text('unmasked', { mask: false }));
      await c.expectFail(1002);
    });

    it('an unmasked ping from the client fails the connection with 1002 (no pong)', async () => {
      const c = await ts.connect();
      c.send(ping('unmasked', { mask: false }));
      await c.expectFail(1002);
    });

    it('a valid message before an unmasked frame is echoed first', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('first'), binary(Buffer.from('x'), { mask: false })]));
      await c.expectText('first');
      await c.expectFail(1002);
    });

    it('an all-zero masking key is still a masked frame and is accepted', async () => {
      const c = await ts.connect();
      c.send(text('zero key', { maskKey: Buffer.alloc(4) }));
      await c.expectText('zero key');
    });
  });

  describe('§5.2 64-bit payload length', () => {
    it('the most significant bit set fails the connection with 1002', async () => {
      const c = await ts.connect();
      // "the most significant bit MUST be 0": declare 2^63 + 5, send only 5 bytes.
      const bad = frame({ opcode: OP.BINARY, payload: 'hello', length: (1n << 63n) | 5n, lengthForm: 64 });
      c.send(bad);
      await c.expectFail(1002);
    });
  });
});
