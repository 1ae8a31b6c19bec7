/**
 * Size limits (RFC 6455 §10.4: "implementations SHOULD impose a limit on
 * frame sizes and the total message size after reassembly"), closed with
 * 1009 "message too big" (§7.4.1). Every limit: at the limit passes, one over
 * fails, and a header that DECLARES too much fails before the payload is sent.
 * Then the defaults must still carry Autobahn group 9's big messages.
 */
import { after, afterEach, before, describe, it } from 'node:test';

import { OP, binary, cont, frame, seededBytes, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

/** Only the header (and masking key) of a frame that declares `length` payload bytes. */
function headerOnly(opcode: number, length: number | bigint, fin = true): Buffer {
  return frame({ opcode, fin, length, payload: '' });
}

describe('limits: maxMessageSize 1000, maxFrameSize 1000, maxFragments 4', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({ maxMessageSize: 1000, maxFrameSize: 1000, maxFragments: 4 });
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('a binary message of exactly 1000 bytes passes', async () => {
    const c = await ts.connect();
    const payload = seededBytes(1000, 1);
    c.send(binary(payload));
    await c.expectBinary(payload);
  });

  it('a text message of exactly 1000 bytes passes', async () => {
    const c = await ts.connect();
    c.send(text('t'.repeat(1000)));
    await c.expectText('t'.repeat(1000));
  });

  it('a binary message of 1001 bytes fails with 1009', async () => {
    const c = await ts.connect();
    c.send(binary(seededBytes(1001, 2)));
    await c.expectFail(1009);
  });

  it('a text message of 1001 bytes fails with 1009', async () => {
    const c = await ts.connect();
    c.send(text('t'.repeat(1001)));
    await c.expectFail(1009);
  });

  it('a header declaring 1001 bytes fails with 1009 before any payload is sent', async () => {
    const c = await ts.connect();
    c.send(headerOnly(OP.BINARY, 1001));
    await c.expectFail(1009);
  });

  it('a header declaring 2^32 bytes (64-bit form) fails with 1009 at once', async () => {
    const c = await ts.connect();
    c.send(headerOnly(OP.TEXT, 2n ** 32n));
    await c.expectFail(1009);
  });

  it('4 fragments of 250 bytes (1000 in total, maxFragments exactly) pass', async () => {
    const c = await ts.connect();
    const parts = [0, 1, 2, 3].map((i) => seededBytes(250, 10 + i));
    c.send(Buffer.concat(parts.map((p, i) => frame({ opcode: i === 0 ? OP.BINARY : OP.CONT, fin: i === 3, payload: p }))));
    await c.expectBinary(Buffer.concat(parts));
  });

  it('4 fragments of 1001 bytes in total fail with 1009', async () => {
    const c = await ts.connect();
    const sizes = [250, 250, 250, 251];
    c.send(Buffer.concat(sizes.map((n, i) => frame({ opcode: i === 0 ? OP.TEXT : OP.CONT, fin: i === 3, payload: 'f'.repeat(n) }))));
    await c.expectFail(1009);
  });

  it('a fragment header that would take the message over the limit fails with 1009 before its payload is sent', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('a'.repeat(300), { fin: false }), cont('b'.repeat(300), { fin: false }), cont('c'.repeat(300), { fin: false })]));
    await c.expectNoFrame(30, '900 bytes so far is within the limit');
    c.send(headerOnly(OP.CONT, 101));
    await c.expectFail(1009);
  });

  it('5 fragments (one over maxFragments) fail with 1009', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([0, 1, 2, 3, 4].map((i) => frame({ opcode: i === 0 ? OP.TEXT : OP.CONT, fin: i === 4, payload: 'tiny' }))));
    await c.expectFail(1009);
  });

  it('control frames between fragments are not limited by maxMessageSize', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([text('x'.repeat(900), { fin: false }), frame({ opcode: OP.PING, payload: 'p'.repeat(125) }), cont('y'.repeat(100))]));
    await c.expectPong('p'.repeat(125));
    await c.expectText('x'.repeat(900) + 'y'.repeat(100));
  });
});

describe('limits: maxFrameSize 100 below maxMessageSize 1000 (maxFragments 20)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start({ maxMessageSize: 1000, maxFrameSize: 100, maxFragments: 20 });
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('a single frame of exactly 100 bytes passes', async () => {
    const c = await ts.connect();
    c.send(binary(seededBytes(100, 3)));
    await c.expectBinary(seededBytes(100, 3));
  });

  it('a single frame of 101 bytes fails with 1009', async () => {
    const c = await ts.connect();
    c.send(binary(seededBytes(101, 3)));
    await c.expectFail(1009);
  });

  it('a continuation frame of 101 bytes fails with 1009 even though the message would fit', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat([binary(Buffer.from('a'), { fin: false }), cont(seededBytes(101, 4))]));
    await c.expectFail(1009);
  });

  it('10 fragments of 100 bytes (1000 in total) pass', async () => {
    const c = await ts.connect();
    const parts = Array.from({ length: 10 }, (_, i) => seededBytes(100, 20 + i));
    c.send(Buffer.concat(parts.map((p, i) => frame({ opcode: i === 0 ? OP.BINARY : OP.CONT, fin: i === 9, payload: p }))));
    await c.expectBinary(Buffer.concat(parts));
  });

  it('11 fragments of 100 bytes (1100 in total) fail with 1009', async () => {
    const c = await ts.connect();
    c.send(Buffer.concat(Array.from({ length: 11 }, (_, i) => frame({ opcode: i === 0 ? OP.BINARY : OP.CONT, fin: i === 10, payload: seededBytes(100, i) }))));
    await c.expectFail(1009);
  });
});

describe('default limits carry big messages (Autobahn group 9)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  it('a 16 MiB binary message in one frame is echoed', { timeout: 20_000 }, async () => {
    const c = await ts.connect();
    const payload = seededBytes(16 * 1024 * 1024, 16);
    c.send(binary(payload));
    await c.expectBinary(payload, 15_000);
  });

  it('a 4 MiB text message in 65,536 fragments of 64 bytes is echoed', { timeout: 20_000 }, async () => {
    const c = await ts.connect();
    const piece = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ+/';
    const n = 65536;
    const frames: Buffer[] = [];
    for (let i = 0; i < n; i++) frames.push(frame({ opcode: i === 0 ? OP.TEXT : OP.CONT, fin: i === n - 1, payload: piece }));
    c.send(Buffer.concat(frames));
    await c.expectText(piece.repeat(n), 15_000);
  });
});
