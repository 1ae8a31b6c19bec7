/**
 * The client's frames on the wire, against a scripted raw server: masking
 * (§5.1, §5.3) byte for byte with an injected key source, the rules it
 * enforces on the server's frames (masked frames, RSV bits, opcodes, UTF-8,
 * limits → close 1002/1007/1009), and the closing handshake from the client's
 * side (§7.1.1: the server closes TCP first; the client waits, with a timeout).
 */
import assert from 'node:assert/strict';
import { after, afterEach, before, describe, it } from 'node:test';
import { connect, type ClientConnection, type ClientOptions } from '../../src/index.js';
import { OP, closePayload, frame, parseClosePayload, seededBytes, text as textFrame } from '../helpers/frames.js';
import { ScriptedServer, type ServerPeer } from '../helpers/raw-server.js';

/** RFC 6455 §5.7's masking key. */
const RFC_KEY = [0x37, 0xfa, 0x21, 0x3d];
const fixedKey = (target: Uint8Array): void => target.set(RFC_KEY);

let server: ScriptedServer;
const open: ClientConnection[] = [];

before(async () => {
  server = await ScriptedServer.start((peer) => void peer.accept().catch(() => {}));
});
afterEach(() => {
  for (const ws of open) ws.terminate();
  open.length = 0;
});
after(() => server.stop());

async function pair(options: ClientOptions = {}): Promise<{ ws: ClientConnection; peer: ServerPeer }> {
  const count = server.peers.length;
  const ws = await connect(server.url(), options);
  open.push(ws);
  const peer = await server.peer(count);
  return { ws, peer };
}

/** The client's close frame: masked, with the expected code. */
async function expectClientClose(peer: ServerPeer, code: number): Promise<void> {
  const f = await peer.nextFrame();
  assert.equal(f.opcode, OP.CLOSE, `expected a close frame, got opcode ${f.opcode}`);
  assert.ok(f.masked, 'a client frame must be masked (§5.1)');
  assert.equal(parseClosePayload(f.payload).code, code);
}

describe('client frames on the wire (§5.1, §5.3, §5.7)', () => {
  it('masks with the injected key: the RFC\'s own example bytes', async () => {
    const { ws, peer } = await pair({ maskKeySource: fixedKey });
    ws.send('Hello');
    ws.ping('Hello');
    const message = await peer.nextFrame();
    // §5.7: "A single-frame masked text message ... 0x81 0x85 0x37 0xfa 0x21 0x3d 0x7f 0x9f 0x4d 0x51 0x58"
    assert.equal(message.wire.toString('hex'), '818537fa213d7f9f4d5158');
    const ping = await peer.nextFrame();
    // §5.7: "Unmasked Ping request and masked Ping response": the masked form with the same key.
    assert.equal(ping.wire.toString('hex'), '898537fa213d7f9f4d5158');
  });

  it('16-bit and 64-bit lengths, binary payloads masked from the key\'s first byte', async () => {
    const { ws, peer } = await pair({ maskKeySource: fixedKey });
    const medium = seededBytes(256, 1);
    const large = seededBytes(65536, 2);
    ws.send(medium);
    ws.send(large);
    const masked = (payload: Buffer) => Buffer.from(payload.map((b, i) => b ^ RFC_KEY[i % 4]));
    const f1 = await peer.nextFrame();
    // §5.7: "256 bytes binary message in a single unmasked frame 0x82 0x7E 0x0100 [256 bytes of binary data]", here masked.
    assert.equal(f1.wire.subarray(0, 8).toString('hex'), '82fe010037fa213d');
    assert.deepEqual(f1.wire.subarray(8), masked(medium));
    const f2 = await peer.nextFrame();
    // §5.7: "64KiB binary message ... 0x82 0x7F 0x0000000000010000".
    assert.equal(f2.wire.subarray(0, 14).toString('hex'), '82ff000000000001000037fa213d');
    assert.deepEqual(f2.wire.subarray(14), masked(large));
    assert.deepEqual(f2.payload, large, 'the caller\'s buffer is not masked in place');
    assert.deepEqual(large, seededBytes(65536, 2));
  });

  it('close, pong and empty frames are masked too', async () => {
    const { ws, peer } = await pair({ maskKeySource: fixedKey });
    peer.sendFrame(OP.PING, 'hi');
    const pong = await peer.nextFrame();
    assert.equal(pong.wire.toString('hex'), '8a8237fa213d' + Buffer.from([0x68 ^ 0x37, 0x69 ^ 0xfa]).toString('hex'));
    ws.send('');
    ws.close(1000, 'bye');
    assert.equal((await peer.nextFrame()).wire.toString('hex'), '818037fa213d');
    const close = await peer.nextFrame();
    assert.equal(close.wire.subarray(0, 6).toString('hex'), '888537fa213d');
    assert.deepEqual(close.payload, closePayload(1000, 'bye'));
  });

  it('by default every frame gets a fresh key from the CSPRNG', async () => {
    const { ws, peer } = await pair();
    for (let i = 0; i < 64; i++) ws.send('x');
    const keys = new Set<string>();
    for (let i = 0; i < 64; i++) {
      const f = await peer.nextFrame();
      assert.ok(f.masked);
      keys.add(f.wire.subarray(2, 6).toString('hex'));
    }
    assert.ok(keys.size >= 60, `64 frames used only ${keys.size} distinct keys`);
  });
});

describe('what the client enforces on the server\'s frames', () => {
  async function failsWith(bytes: Buffer, closeCode: number, errorCode: string, options: ClientOptions = {}): Promise<void> {
    const { ws, peer } = await pair(options);
    const errors: Error[] = [];
    ws.on('error', (e) => errors.push(e));
    peer.write(bytes);
    await expectClientClose(peer, closeCode);
    // Failing the connection (§7.1.7): no answer is awaited before closing TCP.
    await peer.waitForClientEnd();
    const info = await ws.closed;
    assert.equal(info.wasClean, false);
    assert.equal((errors[0] as { code?: string } | undefined)?.code, errorCode);
  }

  it('a masked frame from the server → 1002 (§5.1)', async () => {
    await failsWith(textFrame('hi', { mask: true }), 1002, 'WS_ERR_MASKED_FRAME');
  });

  it('RSV bits without an extension → 1002 (§5.2)', async () => {
    await failsWith(frame({ opcode: OP.TEXT, payload: 'hi', rsv: 0b100, mask: false }), 1002, 'WS_ERR_RESERVED_BITS');
  });

  it('a reserved opcode → 1002 (§5.2)', async () => {
    await failsWith(frame({ opcode: 0x3, mask: false }), 1002, 'WS_ERR_RESERVED_OPCODE');
  });

  it('invalid UTF-8 fails at the first bad byte, before the message ends → 1007 (§8.1)', async () => {
    await failsWith(frame({ opcode: OP.TEXT, payload: Buffer.from([0x68, 0xc0, 0x80]), fin: false, mask: false }), 1007, 'WS_ERR_INVALID_UTF8');
  });

  it('maxMessageSize: at the limit passes, one over → 1009 (§10.4)', async () => {
    const { ws, peer } = await pair({ maxMessageSize: 1000 });
    peer.sendFrame(OP.BINARY, seededBytes(1000, 3));
    const message = await new Promise((resolve) => ws.once('message', resolve));
    assert.ok(Buffer.isBuffer(message) && message.length === 1000);
    peer.sendFrame(OP.BINARY, seededBytes(1001, 3));
    await expectClientClose(peer, 1009);
  });

  it('a message over maxMessageSize: the client\'s close info says it was our own 1009, not just 1006 (§7.1.5, §7.1.7)', async () => {
    const { ws, peer } = await pair({ maxMessageSize: 1000 });
    const errors: Error[] = [];
    ws.on('error', (e) => errors.push(e));
    const closeEvent = new Promise<unknown[]>((resolve) => ws.once('close', (...args) => resolve(args)));
    peer.sendFrame(OP.BINARY, seededBytes(1001, 3));
    await expectClientClose(peer, 1009);
    await peer.waitForClientEnd(); // failing the connection: the client closes TCP at once
    const info = await ws.closed;
    // code, reason and wasClean as a browser's CloseEvent: no close frame came back.
    assert.deepEqual([info.code, info.reason, info.wasClean], [1006, '', false]);
    // What only we know: we started it, with our 1009, because of this error.
    assert.equal(info.initiator, 'local');
    assert.deepEqual(info.sent, { code: 1009, reason: 'frame of 1001 bytes exceeds the limit of 1000' });
    assert.equal(info.received, null);
    assert.equal(info.error?.code, 'WS_ERR_FRAME_TOO_BIG');
    assert.equal(info.error?.closeCode, 1009);
    assert.equal(errors[0], info.error, 'the same error was reported on \'error\'');
    assert.deepEqual(await closeEvent, [1006, '', info], 'the close event carries the same info');
  });

  it('fragments, with control frames between them, are reassembled; pings are answered with the same payload', async () => {
    const { ws, peer } = await pair();
    peer.sendFrame(OP.TEXT, 'frag', { fin: false });
    peer.sendFrame(OP.PING, 'are you there');
    peer.sendFrame(OP.CONT, 'men', { fin: false });
    peer.sendFrame(OP.CONT, 'ted ✓');
    const message = await new Promise((resolve) => ws.once('message', resolve));
    assert.equal(message, 'fragmented ✓');
    const pong = await peer.nextFrame();
    assert.equal(pong.opcode, OP.PONG);
    assert.ok(pong.masked);
    assert.equal(pong.payload.toString(), 'are you there');
  });
});

describe('closing handshake from the client side (§7)', () => {
  it('the server closes: the client answers with its code and waits for the server to close TCP (§7.1.1)', async () => {
    const { ws, peer } = await pair();
    peer.sendFrame(OP.CLOSE, closePayload(1001, 'going away'));
    await expectClientClose(peer, 1001);
    assert.ok(await peer.clientStaysOpen(150), 'the client must leave closing TCP to the server');
    peer.end();
    const info = await ws.closed;
    assert.deepEqual(info, { code: 1001, reason: 'going away', wasClean: true, initiator: 'remote', sent: { code: 1001, reason: '' }, received: { code: 1001, reason: 'going away' }, error: null });
    await peer.waitForClientEnd();
  });

  it('the client closes: close frame first, then it waits for the server\'s close and FIN', async () => {
    const { ws, peer } = await pair();
    const events: string[] = [];
    ws.on('close', (code, reason) => events.push(`close ${code} ${reason}`));
    ws.close(4000, 'done');
    assert.throws(() => ws.send('late'), { code: 'WS_ERR_CONNECTION_CLOSED' });
    const f = await peer.nextFrame();
    assert.deepEqual(parseClosePayload(f.payload).code, 4000);
    assert.equal(parseClosePayload(f.payload).reason, 'done');
    peer.sendFrame(OP.CLOSE, closePayload(4000));
    assert.ok(await peer.clientStaysOpen(150));
    peer.end();
    assert.deepEqual(await ws.closed, { code: 4000, reason: '', wasClean: true, initiator: 'local', sent: { code: 4000, reason: 'done' }, received: { code: 4000, reason: '' }, error: null });
    assert.deepEqual(events, ['close 4000 ']);
  });

  it('a server that never closes TCP is dropped after closeTimeout', async () => {
    const { ws, peer } = await pair({ closeTimeout: 250 });
    const started = Date.now();
    ws.close();
    await peer.nextFrame();
    peer.sendFrame(OP.CLOSE, closePayload(1000));
    await peer.waitForClientEnd(2000);
    const waited = peer.clientEndedAt - started;
    assert.ok(waited >= 200 && waited < 1500, `closed TCP after ${waited} ms`);
    assert.equal((await ws.closed).wasClean, true);
  });

  it('a server that never answers the close frame is dropped after closeTimeout', async () => {
    const { ws, peer } = await pair({ closeTimeout: 200 });
    ws.close(1000);
    await peer.nextFrame();
    await peer.waitForClientEnd(2000);
    assert.deepEqual(await ws.closed, { code: 1006, reason: '', wasClean: false, initiator: 'local', sent: { code: 1000, reason: '' }, received: null, error: null });
  });

  it('an empty close frame from the server is reported as 1005 and answered with an empty one (§7.4.1)', async () => {
    const { ws, peer } = await pair();
    peer.sendFrame(OP.CLOSE);
    const f = await peer.nextFrame();
    assert.equal(f.opcode, OP.CLOSE);
    assert.equal(f.payload.length, 0);
    peer.end();
    assert.deepEqual(await ws.closed, { code: 1005, reason: '', wasClean: true, initiator: 'remote', sent: { code: 1005, reason: '' }, received: { code: 1005, reason: '' }, error: null });
  });

  it('the server drops TCP without a close frame → 1006', async () => {
    const { ws, peer } = await pair();
    peer.destroy();
    assert.deepEqual(await ws.closed, { code: 1006, reason: '', wasClean: false, initiator: 'remote', sent: null, received: null, error: null });
  });
});
