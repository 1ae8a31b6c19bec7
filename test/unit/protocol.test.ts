/**
 * The sans-I/O connection (RFC 6455 §5–§7), in memory: hand-built client
 * frames in, recorded events and parsed output frames out. Server role unless
 * a test says otherwise. Inputs are fed whole, one byte at a time, split at
 * every offset and in random chunks; failures are checked for their code,
 * their close code, the close frame they produce, and the chunk they happen on.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { ConnectionClosedError, InternalError, LocalError, ProtocolError } from '../../src/errors.js';
import { WebSocketProtocol, type ProtocolOptions } from '../../src/protocol/protocol.js';
import { ReadyState } from '../../src/protocol/ready-state.js';
import {
  OP,
  RFC_KEY,
  buildFrame,
  bytewise,
  chunkings,
  clientFrame,
  closeBody,
  closeOf,
  cutAt,
  describeFrame,
  deterministicKeys,
  endpoint,
  feed,
  frameHeader,
  hex,
  naiveMask,
  parseFrames,
  plainEvents,
  randomChunks,
  run,
  serverFrame,
  takeFrames,
  toHex,
  whole,
  type Endpoint,
  type ProtocolEvent,
  type WireFrame,
} from '../helpers/protocol-harness.js';

const KiB = 1024;
const MiB = 1024 * 1024;

// --- helpers -------------------------------------------------------------------

/** A text of exactly `size` UTF-8 bytes, mixing 1- to 4-byte characters. */
function textOfBytes(size: number): string {
  const parts = ['a', 'é', '€', '𝄞', 'Z', 'κ'];
  let text = '';
  let bytes = 0;
  for (let i = 0; bytes < size; i++) {
    const part = parts[i % parts.length];
    const n = Buffer.byteLength(part);
    if (bytes + n > size) {
      text += 'a'.repeat(size - bytes);
      break;
    }
    text += part;
    bytes += n;
  }
  assert.equal(Buffer.byteLength(text), size);
  return text;
}

function binaryOf(size: number, salt = 0): Buffer {
  const out = Buffer.allocUnsafe(size);
  for (let i = 0; i < size; i++) out[i] = (i * 31 + salt + (i >> 10)) & 0xff;
  return out;
}

/** The header a server must write for an unmasked frame (§5.2, minimal length form). */
function expectedHeader(b0: number, length: number): Buffer {
  return frameHeader({ opcode: b0 & 0x0f, fin: (b0 & 0x80) !== 0, mask: null }, length);
}

/** Feed chunks one at a time; return the index of the chunk after which `protocol.closeState.error` appeared (or -1). */
function feedUntilError(protocol: WebSocketProtocol, chunks: readonly Buffer[]): { index: number; start: number; end: number } {
  let offset = 0;
  for (const [index, chunk] of chunks.entries()) {
    protocol.receiveData(chunk);
    if (protocol.closeState.error !== null) return { index, start: offset, end: offset + chunk.length };
    offset += chunk.length;
  }
  return { index: -1, start: offset, end: offset };
}

/**
 * The connection was failed with `code`/`closeCode`: reported once through
 * onProtocolError (the last event), recorded in `error`, and the last frame
 * of the output is a close frame with that code and a non-empty reason.
 * Returns the output frames (drained).
 */
function assertFailed(ep: Endpoint, code: string | readonly string[], closeCode: number, context = ''): WireFrame[] {
  const { protocol, listener } = ep;
  const codes = typeof code === 'string' ? [code] : code;
  assert.ok(protocol.closeState.error instanceof ProtocolError, `${context}: not failed; events ${JSON.stringify(plainEvents(listener.events))}`);
  assert.ok(codes.includes(protocol.closeState.error.code), `${context}: failed with ${protocol.closeState.error.code}, expected ${codes.join(' or ')}`);
  assert.equal(protocol.closeState.error.closeCode, closeCode, context);
  const errors = listener.events.filter((e) => e.type === 'error');
  assert.equal(errors.length, 1, `${context}: onProtocolError called ${errors.length} times`);
  assert.equal(listener.events[listener.events.length - 1].type, 'error', `${context}: events after the error`);
  assert.equal(listener.errors[0], protocol.closeState.error);
  const output = takeFrames(protocol);
  assert.ok(output.length > 0, `${context}: no close frame sent`);
  const last = output[output.length - 1];
  const close = closeOf(last);
  assert.equal(close.code, closeCode, `${context}: close frame ${describeFrame(last)}`);
  assert.ok(close.reason.length > 0, `${context}: the close frame carries a reason`);
  assert.ok(Buffer.byteLength(close.reason) <= 123);
  assert.equal(output.filter((f) => f.opcode === OP.CLOSE).length, 1, `${context}: one close frame`);
  assert.equal(protocol.transportAction, 'close-now', context);
  assert.notEqual(protocol.closeState.sent, null, context);
  return output;
}

/** After a failure or a close, more input changes nothing: no events, no output. */
function assertInputIgnored(ep: Endpoint, more: Buffer = Buffer.concat([clientFrame(OP.TEXT, 'late'), clientFrame(OP.PING, 'late')])): void {
  const before = ep.listener.events.length;
  ep.protocol.receiveData(Buffer.from(more));
  ep.protocol.receiveData(hex('ff ff ff ff')); // garbage would be an error if parsed
  assert.equal(ep.listener.events.length, before, 'input after the end produced events');
  assert.deepEqual(ep.protocol.takeOutput(), [], 'input after the end produced output');
}

/**
 * Every standard chunking of `wire` fails with `code`, on the chunk holding
 * byte `badByte`, with `before` reported first.
 */
function assertFailsAtByte(
  wire: Buffer,
  badByte: number,
  code: string | readonly string[],
  closeCode: number,
  before: ProtocolEvent[] = [],
  options: Partial<ProtocolOptions> = {},
  splitOffsets?: number[],
): void {
  for (const { name, chunks } of chunkings(wire, splitOffsets)) {
    const ep = endpoint(options);
    const at = feedUntilError(ep.protocol, chunks);
    assert.ok(at.index >= 0, `${name}: never failed`);
    assert.ok(at.start <= badByte && badByte < at.end, `${name}: failed on bytes [${at.start}, ${at.end}), the bad byte is ${badByte}`);
    assert.deepEqual(plainEvents(ep.listener.events.slice(0, -1)), plainEvents(before), name);
    assertFailed(ep, code, closeCode, name);
    feed(ep.protocol, chunks.slice(at.index + 1));
    assertInputIgnored(ep);
  }
}

/** Two cores wired back to back in memory: what one outputs, the other receives. */
function pair(clientOptions: Partial<ProtocolOptions> = {}, serverOptions: Partial<ProtocolOptions> = {}): { client: Endpoint; server: Endpoint; flush: () => void } {
  const client = endpoint({ role: 'client', ...clientOptions });
  const server = endpoint({ role: 'server', ...serverOptions });
  const flush = (): void => {
    for (let i = 0; i < 10; i++) {
      const c = client.protocol.takeOutput();
      const s = server.protocol.takeOutput();
      if (c.length === 0 && s.length === 0) return;
      for (const chunk of c) server.protocol.receiveData(Buffer.from(chunk));
      for (const chunk of s) client.protocol.receiveData(Buffer.from(chunk));
    }
  };
  return { client, server, flush };
}

// --- data messages --------------------------------------------------------------

describe('echo of text and binary messages (server role)', () => {
  for (const size of [0, 1, 125, 126, 65535, 65536, MiB]) {
    for (const kind of ['text', 'binary'] as const) {
      it(`${kind}, ${size} bytes`, () => {
        const text = kind === 'text' ? textOfBytes(size) : '';
        const data = kind === 'binary' ? binaryOf(size) : Buffer.alloc(0);
        const wire = clientFrame(kind === 'text' ? OP.TEXT : OP.BINARY, kind === 'text' ? text : data, { mask: hex('a1 b2 c3 d4') });
        const expected: ProtocolEvent = kind === 'text' ? { type: 'text', text } : { type: 'binary', data };
        const ways: Array<[string, Buffer[]]> = [
          ['whole', whole(wire)],
          ['random chunks', randomChunks(wire, size + 1, size > 100_000 ? 9000 : 300)],
        ];
        if (size <= 65536) ways.push(['byte by byte', bytewise(wire)]);
        if (size > 0) ways.push(['header then payload', cutAt(wire, [wire.length - size])]);
        for (const [name, chunks] of ways) {
          const ep = endpoint();
          feed(ep.protocol, chunks);
          assert.equal(ep.listener.events.length, 1, name);
          const event = ep.listener.events[0];
          assert.equal(event.type, expected.type, name);
          if (event.type === 'text') assert.ok(event.text === text, `${name}: text differs`);
          if (event.type === 'binary') assert.ok(event.data.equals(data), `${name}: bytes differ`);
          assert.deepEqual(ep.protocol.takeOutput(), [], `${name}: nothing to send yet`);

          // Echo it back.
          if (event.type === 'text') ep.protocol.sendText(event.text);
          if (event.type === 'binary') ep.protocol.sendBinary(event.data);
          const out = Buffer.concat(ep.protocol.takeOutput());
          const b0 = kind === 'text' ? 0x81 : 0x82;
          const header = expectedHeader(b0, size);
          assert.equal(toHex(out.subarray(0, header.length)), toHex(header), `${name}: header`);
          const payload = out.subarray(header.length);
          assert.equal(payload.length, size, name);
          assert.ok(kind === 'text' ? payload.toString('utf8') === text : payload.equals(data), `${name}: echoed payload`);
        }
      });
    }
  }

  it('text of every length 0..300 characters, ASCII and multi-byte (header slide in the encoder)', () => {
    const ep = endpoint();
    for (const unit of ['a', 'é', '€', '𝄞']) {
      for (let n = 0; n <= 300; n++) {
        const text = unit.repeat(n);
        ep.protocol.sendText(text);
        const [frame, ...rest] = takeFrames(ep.protocol);
        assert.equal(rest.length, 0);
        assert.equal(frame.opcode, OP.TEXT);
        assert.equal(frame.fin, true);
        assert.equal(frame.payload.toString('utf8'), text, `${n} × ${unit}`);
      }
    }
  });

  it('short text that turns non-ASCII late (the ASCII loop hands over to the UTF-8 encoder)', () => {
    const ep = endpoint();
    for (const text of ['\u007f', '\u0080', 'abc\u0080', 'x'.repeat(63) + 'é', 'x'.repeat(64) + 'é', 'abcdef\udc00', 'ab𝄞cd', 'x'.repeat(40) + '€']) {
      ep.protocol.sendText(text);
      const [frame] = takeFrames(ep.protocol);
      assert.ok(frame.payload.equals(Buffer.from(text, 'utf8')), JSON.stringify(text));
    }
  });

  it('text around the copy threshold (16 KiB) and lone surrogates', () => {
    const ep = endpoint();
    for (const text of ['x'.repeat(5461), 'x'.repeat(5462), '€'.repeat(5461), '€'.repeat(5462), 'x'.repeat(16384), 'x'.repeat(16385), 'a\ud800b']) {
      ep.protocol.sendText(text);
      const [frame] = takeFrames(ep.protocol);
      assert.ok(frame.payload.equals(Buffer.from(text, 'utf8')), `${text.length} chars`);
    }
  });

  it('a binary payload over 16 KiB is queued by reference (documented: do not modify until written)', () => {
    const ep = endpoint();
    const data = binaryOf(20 * KiB);
    ep.protocol.sendBinary(data);
    const chunks = ep.protocol.takeOutput();
    assert.ok(chunks.includes(data));
    assert.ok(parseFrames(Buffer.concat(chunks), 'server')[0].payload.equals(data));
  });

  it('several messages in one chunk are reported in order', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, 'one'), clientFrame(OP.BINARY, hex('02')), clientFrame(OP.TEXT, 'three')]);
    for (const { name, chunks } of chunkings(wire)) {
      const { listener } = run(chunks);
      assert.deepEqual(plainEvents(listener.events), [{ type: 'text', text: 'one' }, { type: 'binary', data: '02' }, { type: 'text', text: 'three' }], name);
    }
  });

  it('a binary message delivered to the listener stays intact while later messages arrive', () => {
    const ep = endpoint();
    ep.protocol.receiveData(clientFrame(OP.BINARY, binaryOf(100, 1)));
    const wire = Buffer.concat([clientFrame(OP.BINARY, binaryOf(3000, 2), { fin: false }), clientFrame(OP.CONT, binaryOf(3000, 3))]);
    feed(ep.protocol, randomChunks(wire, 5, 500));
    feed(ep.protocol, bytewise(clientFrame(OP.BINARY, binaryOf(200, 4))));
    ep.protocol.receiveData(clientFrame(OP.BINARY, binaryOf(5000, 5)));
    const datas = ep.listener.events.map((e) => (e.type === 'binary' ? e.data : Buffer.alloc(0)));
    assert.ok(datas[0].equals(binaryOf(100, 1)));
    assert.ok(datas[1].equals(Buffer.concat([binaryOf(3000, 2), binaryOf(3000, 3)])));
    assert.ok(datas[2].equals(binaryOf(200, 4)));
    assert.ok(datas[3].equals(binaryOf(5000, 5)));
  });
});

describe('fragmented messages (§5.4)', () => {
  it('text and binary in 2..12 frames, with empty fragments and code points split across fragments, in every chunking', () => {
    const text = 'Hé€𝄞 κόσμε!';
    const utf8 = Buffer.from(text);
    const data = binaryOf(40);
    for (let frames = 2; frames <= 12; frames++) {
      for (const kind of ['text', 'binary'] as const) {
        const payload = kind === 'text' ? utf8 : data;
        // Cut points spread over the payload; every third fragment is empty.
        const cuts: number[] = [];
        for (let i = 1; i < frames; i++) cuts.push(i % 3 === 0 ? cuts[cuts.length - 1] ?? 0 : Math.floor((payload.length * i) / frames));
        const bounds = [0, ...cuts, payload.length];
        const wire = Buffer.concat(
          bounds.slice(1).map((end, i) =>
            clientFrame(i === 0 ? (kind === 'text' ? OP.TEXT : OP.BINARY) : OP.CONT, payload.subarray(bounds[i], end), { fin: i === frames - 1 }),
          ),
        );
        const expected = kind === 'text' ? [{ type: 'text', text }] : [{ type: 'binary', data: data.toString('hex') }];
        const offsets = wire.length > 120 ? Array.from({ length: 60 }, (_, i) => i * 2 + 1) : undefined;
        for (const { name, chunks } of chunkings(wire, offsets)) {
          const { listener, output } = run(chunks);
          assert.deepEqual(plainEvents(listener.events), expected, `${frames} frames, ${kind}, ${name}`);
          assert.deepEqual(output, []);
        }
      }
    }
  });

  it('a fragmented message of only empty fragments is an empty message', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, '', { fin: false }), clientFrame(OP.CONT, '', { fin: false }), clientFrame(OP.CONT, '')]);
    for (const { name, chunks } of chunkings(wire)) {
      assert.deepEqual(plainEvents(run(chunks).listener.events), [{ type: 'text', text: '' }], name);
    }
  });

  it('a ping between fragments is answered before the message completes', () => {
    const first = clientFrame(OP.TEXT, 'Hel', { fin: false });
    const ping = clientFrame(OP.PING, 'are you there?');
    const last = clientFrame(OP.CONT, 'lo');
    for (const way of [whole, bytewise]) {
      const ep = endpoint();
      let pendingAtPing = -1;
      ep.listener.after = (event) => {
        if (event.type === 'ping') pendingAtPing = ep.protocol.pendingOutputBytes;
      };
      feed(ep.protocol, way(Buffer.concat([first, ping])));
      assert.ok(pendingAtPing > 0, 'the pong is queued when onPing is called');
      const out = takeFrames(ep.protocol);
      assert.deepEqual(out.map(describeFrame), [`PONG ${Buffer.from('are you there?').toString('hex')}`]);
      assert.deepEqual(plainEvents(ep.listener.events), [{ type: 'ping', data: Buffer.from('are you there?').toString('hex') }]);
      feed(ep.protocol, way(last));
      assert.deepEqual(plainEvents(ep.listener.events).slice(1), [{ type: 'text', text: 'Hello' }]);
      assert.deepEqual(ep.protocol.takeOutput(), []);
    }
  });

  it('pings and pongs between every fragment, payloads 0..125 bytes, split at every offset', () => {
    const frames = [
      clientFrame(OP.BINARY, hex('01 02'), { fin: false }),
      clientFrame(OP.PING, ''),
      clientFrame(OP.CONT, hex('03'), { fin: false }),
      clientFrame(OP.PONG, 'unsolicited'),
      clientFrame(OP.PING, Buffer.alloc(125, 0x70)),
      clientFrame(OP.CONT, hex('04 05')),
    ];
    const wire = Buffer.concat(frames);
    for (const { name, chunks } of chunkings(wire)) {
      const { listener, output } = run(chunks);
      assert.deepEqual(
        plainEvents(listener.events),
        [
          { type: 'ping', data: '' },
          { type: 'pong', data: Buffer.from('unsolicited').toString('hex') },
          { type: 'ping', data: Buffer.alloc(125, 0x70).toString('hex') },
          { type: 'binary', data: '0102030405' },
        ],
        name,
      );
      assert.deepEqual(output.map(describeFrame), ['PONG ', `PONG ${Buffer.alloc(125, 0x70).toString('hex')}`], name);
    }
  });

  it('an unsolicited pong is reported and not answered', () => {
    const { listener, output } = run(whole(clientFrame(OP.PONG, 'heartbeat')));
    assert.deepEqual(plainEvents(listener.events), [{ type: 'pong', data: Buffer.from('heartbeat').toString('hex') }]);
    assert.deepEqual(output, []);
  });

  it('a continuation frame with no message started → 1002', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, 'ok'), clientFrame(OP.CONT, 'orphan')]);
    // Decided by the protocol when the parser reports the frame: at the end of its header.
    assertFailsAtByte(wire, clientFrame(OP.TEXT, 'ok').length + 5, 'WS_ERR_UNEXPECTED_CONTINUATION', 1002, [{ type: 'text', text: 'ok' }]);
  });

  it('a new TEXT or BINARY frame inside a fragmented message → 1002', () => {
    for (const opcode of [OP.TEXT, OP.BINARY]) {
      const start = clientFrame(OP.TEXT, 'part', { fin: false });
      const wire = Buffer.concat([start, clientFrame(opcode, 'intruder')]);
      assertFailsAtByte(wire, start.length + 5, 'WS_ERR_EXPECTED_CONTINUATION', 1002);
    }
  });
});

// --- UTF-8 -------------------------------------------------------------------------

describe('UTF-8 of text messages (§8.1): fail with 1007 on the first bad byte', () => {
  it('invalid UTF-8 in one frame → 1007 (whole: one-shot check; other chunkings: incremental)', () => {
    for (const bad of [hex('c0 80'), hex('ed a0 80'), hex('f4 90 80 80'), hex('ff'), hex('80')]) {
      const payload = Buffer.concat([Buffer.from('Hello-'), bad, Buffer.from('-world')]);
      const wire = clientFrame(OP.TEXT, payload);
      // The first byte that no continuation can make valid.
      const badInPayload = 6 + (bad[0] === 0xc0 || bad[0] === 0xff || bad[0] === 0x80 ? 0 : 1);
      assertFailsAtByte(wire, 6 + badInPayload, 'WS_ERR_INVALID_UTF8', 1007);
    }
  });

  it('invalid UTF-8 in fragment 2 of 3 → 1007 when fragment 2 arrives, before fragment 3', () => {
    const f1 = clientFrame(OP.TEXT, 'κόσμε', { fin: false });
    const f2 = clientFrame(OP.CONT, Buffer.concat([Buffer.from('ab'), hex('ed a0 80'), Buffer.from('cd')]), { fin: false });
    const f3 = clientFrame(OP.CONT, 'end');
    const wire = Buffer.concat([f1, f2]);
    assertFailsAtByte(wire, f1.length + 6 + 3, 'WS_ERR_INVALID_UTF8', 1007);
    // And with the last fragment following, nothing more happens.
    const ep = endpoint();
    feed(ep.protocol, [Buffer.concat([f1, f2, f3])]);
    assertFailed(ep, 'WS_ERR_INVALID_UTF8', 1007);
    assert.equal(ep.listener.events.length, 1);
  });

  it('a long text (native validation range) with a bad byte in the middle, split at every offset', () => {
    const payload = Buffer.concat([Buffer.from('€'.repeat(60)), hex('f8'), Buffer.from('x'.repeat(150))]);
    const wire = clientFrame(OP.TEXT, payload);
    assertFailsAtByte(wire, 8 + 180, 'WS_ERR_INVALID_UTF8', 1007);
  });

  it('a long fragmented text with the bad byte in fragment 2, split at every offset', () => {
    const f1 = clientFrame(OP.TEXT, Buffer.from('é'.repeat(100)).subarray(0, 199), { fin: false }); // ends inside 'é'
    const f2 = clientFrame(OP.CONT, Buffer.concat([hex('a9'), Buffer.from('y'.repeat(140)), hex('c1 bf'), Buffer.from('z'.repeat(10))]), { fin: false });
    assertFailsAtByte(Buffer.concat([f1, f2]), f1.length + 8 + 1 + 140, 'WS_ERR_INVALID_UTF8', 1007);
  });

  it('a large text arriving in 64 KiB reads (unmasked straight into the message buffer): valid, and a bad byte fails on its read', () => {
    // Three-byte characters, so code points straddle the read boundaries.
    const text = '€'.repeat(70_000);
    const wire = clientFrame(OP.TEXT, text);
    const reads = (bytes: Buffer): Buffer[] => Array.from({ length: Math.ceil(bytes.length / 65_536) }, (_, i) => bytes.subarray(i * 65_536, (i + 1) * 65_536));
    const { listener } = run(reads(Buffer.from(wire)));
    assert.deepEqual(plainEvents(listener.events), [{ type: 'text', text }]);

    const payload = Buffer.from(text);
    payload[150_001] = 0xff; // in the third read, which ends at wire byte 196,608
    const bad = clientFrame(OP.TEXT, payload);
    const ep = endpoint();
    const at = feedUntilError(ep.protocol, reads(bad));
    assert.equal(at.index, 2, `failed on read ${at.index}, the bad byte is in read 2`);
    assertFailed(ep, 'WS_ERR_INVALID_UTF8', 1007);
  });

  it('a code point split across fragments and reads is valid', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, hex('61 e2'), { fin: false }), clientFrame(OP.CONT, hex('82'), { fin: false }), clientFrame(OP.CONT, hex('ac 62'))]);
    for (const { name, chunks } of chunkings(wire)) {
      assert.deepEqual(plainEvents(run(chunks).listener.events), [{ type: 'text', text: 'a€b' }], name);
    }
  });

  it('a text message truncated inside a code point → 1007 at its end', () => {
    const single = clientFrame(OP.TEXT, hex('61 e2 82'));
    assertFailsAtByte(single, single.length - 1, 'WS_ERR_INVALID_UTF8', 1007);
    const f1 = clientFrame(OP.TEXT, hex('61 f0 9d'), { fin: false });
    const f2 = clientFrame(OP.CONT, hex('84'));
    const fragmented = Buffer.concat([f1, f2]);
    assertFailsAtByte(fragmented, fragmented.length - 1, 'WS_ERR_INVALID_UTF8', 1007);
    const f3 = clientFrame(OP.CONT, '');
    const emptyLast = Buffer.concat([clientFrame(OP.TEXT, hex('e2 82'), { fin: false }), f3]);
    assertFailsAtByte(emptyLast, emptyLast.length - 1, 'WS_ERR_INVALID_UTF8', 1007);
  });

  it('binary messages are not checked', () => {
    const { listener } = run(bytewise(clientFrame(OP.BINARY, hex('ff c0 ed a0 80'))));
    assert.deepEqual(plainEvents(listener.events), [{ type: 'binary', data: 'ffc0eda080' }]);
  });
});

// --- limits ---------------------------------------------------------------------------

describe('limits (§10.4): at the limit passes, one over fails with 1009 from the header', () => {
  const LIMIT = 1000;

  it('maxMessageSize: one frame at the limit passes (text and binary, every chunking)', () => {
    for (const [opcode, payload] of [[OP.TEXT, textOfBytes(LIMIT)], [OP.BINARY, binaryOf(LIMIT)]] as const) {
      const wire = clientFrame(opcode, payload);
      for (const { name, chunks } of chunkings(wire, [1, 2, 3, 4, 5, 8, 9, 500])) {
        const { protocol, listener } = run(chunks, { maxMessageSize: LIMIT });
        assert.equal(protocol.closeState.error, null, name);
        assert.deepEqual(listener.events.map((e) => e.type), [opcode === OP.TEXT ? 'text' : 'binary'], name);
      }
    }
  });

  it('maxMessageSize: one frame one byte over fails as soon as the header is read, before any payload', () => {
    const wire = clientFrame(OP.BINARY, binaryOf(LIMIT + 1));
    const headerEnd = 8; // 2 + 16-bit length + key
    const lengthEnd = 4; // the decision needs only the 16-bit length, not the key
    assertFailsAtByte(wire.subarray(0, headerEnd), lengthEnd - 1, ['WS_ERR_FRAME_TOO_BIG', 'WS_ERR_MESSAGE_TOO_BIG'], 1009, [], { maxMessageSize: LIMIT });
  });

  it('maxMessageSize: fragments summing to the limit pass; one byte more fails at the header of the fragment that goes over', () => {
    const ping = clientFrame(OP.PING, Buffer.alloc(100)); // control frames do not count
    const f1 = clientFrame(OP.TEXT, 'a'.repeat(600), { fin: false });
    const ok = Buffer.concat([f1, ping, clientFrame(OP.CONT, '', { fin: false }), clientFrame(OP.CONT, 'b'.repeat(400))]);
    for (const { name, chunks } of chunkings(ok, [1, 7, 600, 700, 900])) {
      const { protocol, listener } = run(chunks, { maxMessageSize: LIMIT });
      assert.equal(protocol.closeState.error, null, name);
      assert.deepEqual(plainEvents(listener.events).map((e) => (e as { type: string }).type), ['ping', 'text'], name);
    }
    // Two whole messages of LIMIT bytes each: the count starts over.
    const two = Buffer.concat([clientFrame(OP.BINARY, binaryOf(LIMIT)), clientFrame(OP.BINARY, binaryOf(LIMIT))]);
    const twoRun = run(whole(two), { maxMessageSize: LIMIT });
    assert.equal(twoRun.protocol.closeState.error, null);
    assert.deepEqual(twoRun.listener.events.map((e) => e.type), ['binary', 'binary']);

    const over = Buffer.concat([f1, ping, clientFrame(OP.CONT, 'b'.repeat(401)).subarray(0, 8)]);
    assertFailsAtByte(over, over.length - 1, 'WS_ERR_MESSAGE_TOO_BIG', 1009, [{ type: 'ping', data: Buffer.alloc(100) }], { maxMessageSize: LIMIT }, [
      1, 600, 606, 607, 720, 740, over.length - 1,
    ]);
  });

  it('maxFrameSize (below maxMessageSize): a fragment at the limit passes, one over fails from its header', () => {
    const options = { maxMessageSize: 10_000, maxFrameSize: 100 };
    const ok = Buffer.concat([clientFrame(OP.BINARY, binaryOf(100), { fin: false }), clientFrame(OP.CONT, binaryOf(100))]);
    assert.deepEqual(plainEvents(run(bytewise(ok), options).listener.events), [{ type: 'binary', data: Buffer.concat([binaryOf(100), binaryOf(100)]).toString('hex') }]);
    const f1 = clientFrame(OP.BINARY, binaryOf(100), { fin: false });
    const over = Buffer.concat([f1, clientFrame(OP.CONT, binaryOf(101)).subarray(0, 6)]); // header only
    assertFailsAtByte(over, over.length - 1, 'WS_ERR_FRAME_TOO_BIG', 1009, [], options, [1, 50, 106, 107, 110]);
  });

  it('maxFragments: a message in exactly that many frames passes (control frames do not count); one more fails at its header', () => {
    const options = { maxFragments: 4 };
    const frames = (n: number): Buffer[] =>
      Array.from({ length: n }, (_, i) => clientFrame(i === 0 ? OP.TEXT : OP.CONT, `f${i}`, { fin: i === n - 1 }));
    const ping = clientFrame(OP.PING, 'p');
    const four = frames(4);
    const ok = Buffer.concat([four[0], ping, four[1], ping, four[2], four[3], ...frames(4)]);
    for (const { name, chunks } of chunkings(ok)) {
      const { protocol, listener } = run(chunks, options);
      assert.equal(protocol.closeState.error, null, name);
      assert.deepEqual(
        listener.events.filter((e) => e.type === 'text'),
        [{ type: 'text', text: 'f0f1f2f3' }, { type: 'text', text: 'f0f1f2f3' }],
        name,
      );
    }
    const five = frames(5);
    const prefix = Buffer.concat(five.slice(0, 4));
    const over = Buffer.concat([prefix, five[4]]);
    assertFailsAtByte(over, prefix.length + 5, 'WS_ERR_TOO_MANY_FRAGMENTS', 1009, [], options);
  });

  it('maxMessageSize limits messages, not control frames: with a limit of 16, a 100-byte ping is answered and a close with a 40-byte reason is echoed', () => {
    // A ping or close is not a message (§5.5 already caps it at 125 bytes);
    // a small message limit must not turn a valid ping into a 1009 failure.
    const options = { maxMessageSize: 16 };
    const ping = clientFrame(OP.PING, Buffer.alloc(100, 0x61));
    const close = clientFrame(OP.CLOSE, closeBody(1000, 'r'.repeat(40)));
    for (const { name, chunks } of chunkings(Buffer.concat([clientFrame(OP.TEXT, 'x'.repeat(16)), ping, close]), [1, 20, 30, 130])) {
      const { protocol, listener, output } = run(chunks, options);
      assert.equal(protocol.closeState.error?.message, undefined, name);
      assert.deepEqual(
        plainEvents(listener.events),
        [
          { type: 'text', text: 'x'.repeat(16) },
          { type: 'ping', data: Buffer.alloc(100, 0x61).toString('hex') },
          { type: 'close', code: 1000, reason: 'r'.repeat(40) },
        ],
        name,
      );
      assert.deepEqual(output.map(describeFrame), [`PONG ${Buffer.alloc(100, 0x61).toString('hex')}`, 'CLOSE 1000 ""'], name);
    }
  });

  it('maxFragments of 1: unfragmented messages pass, any fragmentation fails', () => {
    const options = { maxFragments: 1 };
    assert.deepEqual(run(whole(clientFrame(OP.TEXT, 'solo')), options).listener.events, [{ type: 'text', text: 'solo' }]);
    const first = clientFrame(OP.TEXT, 'a', { fin: false });
    assertFailsAtByte(Buffer.concat([first, clientFrame(OP.CONT, 'b')]), first.length + 5, 'WS_ERR_TOO_MANY_FRAGMENTS', 1009, [], options);
  });
});

// --- closing handshake ----------------------------------------------------------------

describe('closing handshake (§5.5.1, §7)', () => {
  it('peer closes with a code: we echo the code, closeReceived, shouldCloseTransport (server), later input ignored', () => {
    const wire = clientFrame(OP.CLOSE, closeBody(1001, 'going away'));
    for (const { name, chunks } of chunkings(wire)) {
      const ep = endpoint();
      feed(ep.protocol, chunks);
      const { protocol, listener } = ep;
      assert.deepEqual(plainEvents(listener.events), [{ type: 'close', code: 1001, reason: 'going away' }], name);
      assert.notEqual(protocol.closeState.received, null);
      assert.notEqual(protocol.closeState.sent, null);
      assert.equal(protocol.closeState.received?.code, 1001);
      assert.equal(protocol.closeState.received?.reason, 'going away');
      assert.equal(protocol.readyState, ReadyState.CLOSING);
      assert.equal(protocol.transportAction, 'close-now');
      assert.equal(protocol.closeState.error, null);
      const out = takeFrames(protocol);
      assert.equal(out.length, 1, name);
      assert.equal(closeOf(out[0]).code, 1001, name);
      assertInputIgnored(ep);
    }
  });

  it('peer close with every kind of valid code is echoed with that code', () => {
    for (const code of [1000, 1003, 1007, 1011, 1012, 1014, 3000, 4999]) {
      const ep = endpoint();
      ep.protocol.receiveData(clientFrame(OP.CLOSE, closeBody(code)));
      assert.deepEqual(takeFrames(ep.protocol).map(describeFrame), [`CLOSE ${code} ""`]);
    }
  });

  it('peer close with no payload: we answer with an empty close (1005 is never sent)', () => {
    const ep = endpoint();
    feed(ep.protocol, bytewise(clientFrame(OP.CLOSE, '')));
    assert.deepEqual(plainEvents(ep.listener.events), [{ type: 'close', code: 1005, reason: '' }]);
    const out = takeFrames(ep.protocol);
    assert.deepEqual(out.map((f) => toHex(f.wire)), ['88 00']);
    assert.equal(ep.protocol.closeState.received?.code, 1005);
    assert.equal(ep.protocol.transportAction, 'close-now');
  });

  it('data before the close in the same chunk is delivered; data after it is not', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, 'before'), clientFrame(OP.CLOSE, closeBody(1000)), clientFrame(OP.TEXT, 'after'), clientFrame(OP.PING, 'x')]);
    for (const { name, chunks } of chunkings(wire)) {
      const { listener, output } = run(chunks);
      assert.deepEqual(plainEvents(listener.events), [{ type: 'text', text: 'before' }, { type: 'close', code: 1000, reason: '' }], name);
      assert.deepEqual(output.map(describeFrame), ['CLOSE 1000 ""'], name);
    }
  });

  it('a close frame in the middle of a fragmented message ends it (the partial message is dropped)', () => {
    const wire = Buffer.concat([clientFrame(OP.TEXT, 'part', { fin: false }), clientFrame(OP.CLOSE, closeBody(1000))]);
    const { listener, output } = run(bytewise(wire));
    assert.deepEqual(plainEvents(listener.events), [{ type: 'close', code: 1000, reason: '' }]);
    assert.equal(output.length, 1);
  });

  it('we close first: data is still delivered until the peer\'s close; then shouldCloseTransport', () => {
    const ep = endpoint();
    const { protocol, listener } = ep;
    protocol.sendClose(1000, 'done');
    assert.deepEqual(takeFrames(protocol).map(describeFrame), ['CLOSE 1000 "done"']);
    assert.equal(protocol.readyState, ReadyState.CLOSING);
    assert.notEqual(protocol.closeState.sent, null);
    assert.notEqual(protocol.transportAction, 'close-now');
    protocol.sendClose(1001, 'again'); // idempotent
    assert.deepEqual(protocol.takeOutput(), []);

    feed(protocol, bytewise(Buffer.concat([clientFrame(OP.TEXT, 'in flight'), clientFrame(OP.BINARY, hex('0a0b'))])));
    assert.deepEqual(plainEvents(listener.events), [{ type: 'text', text: 'in flight' }, { type: 'binary', data: '0a0b' }]);
    assert.notEqual(protocol.transportAction, 'close-now');
    // A ping after our close is reported and answered: §5.5.2 owes a pong
    // until a Close is *received*; §5.5.1 stops only data frames after ours.
    protocol.receiveData(clientFrame(OP.PING, 'late ping'));
    assert.equal(listener.events[listener.events.length - 1].type, 'ping');
    assert.deepEqual(takeFrames(protocol).map(describeFrame), [`PONG ${Buffer.from('late ping').toString('hex')}`]);

    protocol.receiveData(clientFrame(OP.CLOSE, closeBody(1000)));
    assert.notEqual(protocol.closeState.received, null);
    assert.equal(protocol.transportAction, 'close-now');
    assert.deepEqual(protocol.takeOutput(), [], 'no second close frame');
    assert.equal(listener.events[listener.events.length - 1].type, 'close');
    assertInputIgnored(ep);
  });

  it('invalid close frames fail the connection: 1-byte body, bad code, bad reason', () => {
    const cases: Array<[Buffer, string, number]> = [
      [hex('03'), 'WS_ERR_CLOSE_PAYLOAD_ONE_BYTE', 1002],
      [closeBody(1005), 'WS_ERR_INVALID_CLOSE_CODE', 1002],
      [closeBody(999), 'WS_ERR_INVALID_CLOSE_CODE', 1002],
      [closeBody(5000), 'WS_ERR_INVALID_CLOSE_CODE', 1002],
      [closeBody(1000, hex('ce ba e1 bd b9 cf 83 ce bc ce b5 ed a0 80 65 64 69 74 65 64')), 'WS_ERR_INVALID_CLOSE_REASON', 1007],
    ];
    for (const [body, code, closeCode] of cases) {
      for (const { name, chunks } of chunkings(clientFrame(OP.CLOSE, body), [1, 2, 5, 6])) {
        const ep = endpoint();
        feed(ep.protocol, chunks);
        assertFailed(ep, code, closeCode, `${body.toString('hex')}, ${name}`);
        assert.equal(ep.protocol.closeState.received, null);
        assertInputIgnored(ep);
      }
    }
  });

  it('sendClose with no code sends an empty close frame; with a code and reason sends both', () => {
    const a = endpoint();
    a.protocol.sendClose();
    assert.deepEqual(takeFrames(a.protocol).map((f) => toHex(f.wire)), ['88 00']);
    const b = endpoint();
    b.protocol.sendClose(4000, 'κλείσιμο');
    assert.deepEqual(takeFrames(b.protocol).map(describeFrame), ['CLOSE 4000 "κλείσιμο"']);
  });

  it('sendClose rejects codes that may not be sent and reasons over 123 bytes, and sends nothing', () => {
    for (const [code, reason, errorCode] of [
      [1005, '', 'WS_ERR_UNSENDABLE_CLOSE_CODE'],
      [1006, '', 'WS_ERR_UNSENDABLE_CLOSE_CODE'],
      [1000, 'x'.repeat(124), 'WS_ERR_CLOSE_REASON_TOO_LONG'],
    ] as const) {
      const ep = endpoint();
      assert.throws(() => ep.protocol.sendClose(code, reason), (e: unknown) => e instanceof LocalError && e.code === errorCode);
      assert.deepEqual(ep.protocol.takeOutput(), []);
      assert.equal(ep.protocol.closeState.sent, null);
      ep.protocol.sendText('still open');
      assert.equal(takeFrames(ep.protocol).length, 1);
    }
  });

  it('fail(): a close frame with the error\'s code, input discarded from then on', () => {
    const ep = endpoint();
    ep.protocol.fail(new InternalError(new Error('a bug')));
    assert.deepEqual(takeFrames(ep.protocol).map(describeFrame), ['CLOSE 1011 "internal error"'], 'the peer learns nothing of our internals');
    assert.equal(ep.protocol.transportAction, 'close-now');
    assertInputIgnored(ep);
  });

  it('receiveEof, terminate and transportClosed close the connection: CLOSED, input ignored, sending throws', () => {
    for (const end of ['eof', 'terminate', 'transport closed'] as const) {
      const ep = endpoint();
      if (end === 'eof') ep.protocol.receiveEof();
      else if (end === 'terminate') ep.protocol.terminate();
      else ep.protocol.transportClosed();
      assert.equal(ep.protocol.readyState, ReadyState.CLOSED);
      assertInputIgnored(ep);
      assert.throws(() => ep.protocol.sendText('x'), ConnectionClosedError);
      ep.protocol.sendClose(1000); // no-op once closed
      assert.deepEqual(ep.protocol.takeOutput(), []);
    }
  });
});

describe('after a protocol error', () => {
  it('the close frame (code and reason) is the last output, and further input is ignored', () => {
    // A ping answered, then an unmasked frame: pong first, close last.
    const wire = Buffer.concat([clientFrame(OP.PING, 'p'), buildFrame({ opcode: OP.TEXT, payload: 'naked', mask: null }), clientFrame(OP.TEXT, 'never')]);
    for (const { name, chunks } of chunkings(wire)) {
      const ep = endpoint();
      feed(ep.protocol, chunks);
      const out = assertFailed(ep, 'WS_ERR_UNMASKED_FRAME', 1002, name);
      assert.deepEqual(out.map((f) => f.opcode), [OP.PONG, OP.CLOSE], name);
      assert.equal(ep.protocol.readyState, ReadyState.CLOSING);
      assertInputIgnored(ep);
    }
  });

  it('sending after a protocol error throws ConnectionClosedError', () => {
    const ep = endpoint();
    ep.protocol.receiveData(clientFrame(0x3, 'reserved'));
    assertFailed(ep, 'WS_ERR_RESERVED_OPCODE', 1002);
    assert.throws(() => ep.protocol.sendText('x'), ConnectionClosedError);
    assert.throws(() => ep.protocol.sendPing(), ConnectionClosedError);
  });

  it('per-frame rules reach the listener as ProtocolErrors with their close codes', () => {
    const cases: Array<[Buffer, string, number]> = [
      [clientFrame(OP.TEXT, 'x', { rsv: 4 }), 'WS_ERR_RESERVED_BITS', 1002],
      [clientFrame(0xb, 'x'), 'WS_ERR_RESERVED_OPCODE', 1002],
      [clientFrame(OP.PING, Buffer.alloc(126)), 'WS_ERR_CONTROL_FRAME_TOO_LONG', 1002],
      [clientFrame(OP.PING, 'x', { fin: false }), 'WS_ERR_FRAGMENTED_CONTROL_FRAME', 1002],
      [clientFrame(OP.BINARY, 'x', { length: 1n << 63n }), 'WS_ERR_INVALID_LENGTH', 1002],
    ];
    for (const [wire, code, closeCode] of cases) {
      for (const chunks of [whole(wire), bytewise(wire)]) {
        const ep = endpoint();
        feed(ep.protocol, chunks);
        assertFailed(ep, code, closeCode, code);
      }
    }
  });
});

// --- sending ------------------------------------------------------------------------------

describe('sending', () => {
  it('every send after our close throws ConnectionClosedError (a LocalError)', () => {
    const ep = endpoint();
    ep.protocol.sendClose(1000);
    const sends: Array<() => void> = [
      () => ep.protocol.sendText('x'),
      () => ep.protocol.sendBinary(hex('00')),
      () => ep.protocol.sendFragment(OP.TEXT, 'x', false),
      () => ep.protocol.sendPing(),
      () => ep.protocol.sendPong(),
    ];
    for (const send of sends) {
      assert.throws(send, (e: unknown) => e instanceof ConnectionClosedError && e instanceof LocalError && e.code === 'WS_ERR_CONNECTION_CLOSED');
    }
    assert.deepEqual(takeFrames(ep.protocol).map(describeFrame), ['CLOSE 1000 ""']);
  });

  it('after the peer\'s close, ConnectionClosedError carries the peer\'s code and reason', () => {
    const ep = endpoint();
    ep.protocol.receiveData(clientFrame(OP.CLOSE, closeBody(4001, 'bye')));
    assert.throws(
      () => ep.protocol.sendText('x'),
      (e: unknown) => e instanceof ConnectionClosedError && e.closeCode === 4001 && e.reason === 'bye',
    );
  });

  it('a ping or pong payload over 125 bytes → LocalError, nothing queued; 125 bytes is fine', () => {
    const ep = endpoint();
    for (const send of [(p: Uint8Array) => ep.protocol.sendPing(p), (p: Uint8Array) => ep.protocol.sendPong(p)]) {
      const pending = ep.protocol.pendingOutputBytes;
      assert.throws(() => send(Buffer.alloc(126)), (e: unknown) => e instanceof LocalError && e.code === 'WS_ERR_CONTROL_PAYLOAD_TOO_LONG');
      assert.equal(ep.protocol.pendingOutputBytes, pending, 'nothing queued');
      send(Buffer.alloc(125, 0x41));
    }
    assert.deepEqual(
      takeFrames(ep.protocol).map((f) => [f.opcode, f.payload.length]),
      [
        [OP.PING, 125],
        [OP.PONG, 125],
      ],
    );
  });

  it('sendPing / sendPong: exact bytes (RFC §5.7 unmasked ping), empty payload by default', () => {
    const ep = endpoint();
    ep.protocol.sendPing(Buffer.from('Hello'));
    ep.protocol.sendPong();
    assert.equal(toHex(Buffer.concat(ep.protocol.takeOutput())), '89 05 48 65 6c 6c 6f 8a 00');
  });

  it('sendFragment: TEXT/BINARY first, CONTINUATION after, FIN only on the last (RFC §5.7 "Hel"/"lo")', () => {
    const ep = endpoint();
    ep.protocol.sendFragment(OP.TEXT, 'Hel', false);
    ep.protocol.sendFragment(OP.CONT, 'lo', true);
    assert.equal(toHex(Buffer.concat(ep.protocol.takeOutput())), '01 03 48 65 6c 80 02 6c 6f');
    ep.protocol.sendFragment(OP.BINARY, hex('01'), false);
    ep.protocol.sendPing(hex('99'));
    ep.protocol.sendFragment(OP.CONT, '', false);
    ep.protocol.sendFragment(OP.CONT, binaryOf(20 * KiB), true);
    const frames = takeFrames(ep.protocol);
    assert.deepEqual(
      frames.map((f) => [f.opcode, f.fin, f.payload.length]),
      [
        [OP.BINARY, false, 1],
        [OP.PING, true, 1],
        [OP.CONT, false, 0],
        [OP.CONT, true, 20 * KiB],
      ],
    );
    assert.ok(frames[3].payload.equals(binaryOf(20 * KiB)));
  });

  it('in-memory pair: fragments sent by a client are reassembled by a server, and the reverse', () => {
    const { client, server, flush } = pair({ maskKeySource: deterministicKeys().source });
    client.protocol.sendFragment(OP.TEXT, 'κό', false);
    client.protocol.sendPing(Buffer.from('hb'));
    client.protocol.sendFragment(OP.CONT, 'σμε', true);
    client.protocol.sendBinary(binaryOf(70 * KiB));
    server.protocol.sendFragment(OP.BINARY, hex('0102'), false);
    server.protocol.sendFragment(OP.CONT, hex('03'), true);
    server.protocol.sendText('€'.repeat(10_000));
    flush();
    assert.deepEqual(plainEvents(server.listener.events), [
      { type: 'ping', data: Buffer.from('hb').toString('hex') },
      { type: 'text', text: 'κόσμε' },
      { type: 'binary', data: binaryOf(70 * KiB).toString('hex') },
    ]);
    assert.deepEqual(plainEvents(client.listener.events), [
      { type: 'binary', data: '010203' },
      { type: 'text', text: '€'.repeat(10_000) },
      { type: 'pong', data: Buffer.from('hb').toString('hex') },
    ]);
    // Closing handshake initiated by the client.
    client.protocol.sendClose(1000, 'bye');
    flush();
    assert.deepEqual(server.listener.events[server.listener.events.length - 1], { type: 'close', code: 1000, reason: 'bye' });
    assert.deepEqual(client.listener.events[client.listener.events.length - 1], { type: 'close', code: 1000, reason: '' });
    assert.equal(server.protocol.transportAction, 'close-now', 'the server closes TCP first (§7.1.1)');
    assert.notEqual(client.protocol.transportAction, 'close-now', 'the client waits for the server to close TCP');
    assert.equal(client.protocol.closeState.phase, 'close-acknowledged');
    assert.equal(client.protocol.transportAction, 'await-peer-close');
  });
});

// --- client role ---------------------------------------------------------------------------

describe('client role (§5.1, §5.3)', () => {
  it('masks every frame with the key from the injected source: exact bytes (RFC §5.7 masked "Hello")', () => {
    const keys = deterministicKeys([RFC_KEY]);
    const { protocol } = endpoint({ role: 'client', maskKeySource: keys.source });
    protocol.sendText('Hello');
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), '81 85 37 fa 21 3d 7f 9f 4d 51 58');
    protocol.sendPong(Buffer.from('Hello'));
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), '8a 85 37 fa 21 3d 7f 9f 4d 51 58');
    protocol.sendPing(Buffer.from('Hello'));
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), '89 85 37 fa 21 3d 7f 9f 4d 51 58');
    protocol.sendFragment(OP.TEXT, 'Hel', false);
    protocol.sendFragment(OP.CONT, 'lo', true);
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), '01 83 37 fa 21 3d 7f 9f 4d 80 82 37 fa 21 3d 5b 95');
    protocol.sendBinary(Buffer.alloc(0));
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), '82 80 37 fa 21 3d');
    protocol.sendClose(1000);
    assert.equal(toHex(Buffer.concat(protocol.takeOutput())), toHex(Buffer.concat([hex('88 82 37 fa 21 3d'), naiveMask(hex('03 e8'), RFC_KEY)])));
  });

  it('takes a fresh key for each frame, in order, whatever the frame and size', () => {
    const keys = deterministicKeys();
    const { protocol } = endpoint({ role: 'client', maskKeySource: keys.source });
    const big = binaryOf(70 * KiB);
    protocol.sendText('a');
    protocol.sendBinary(binaryOf(300));
    protocol.sendBinary(big);
    protocol.sendText('€'.repeat(6000));
    protocol.sendPing();
    protocol.sendFragment(OP.BINARY, binaryOf(20 * KiB), false);
    protocol.sendFragment(OP.CONT, 'tail', true);
    protocol.sendClose(4000, 'end');
    const out = Buffer.concat(protocol.takeOutput());
    const frames = parseFrames(out, 'client');
    assert.equal(frames.length, 8);
    assert.equal(keys.issued.length, 8);
    frames.forEach((f, i) => assert.deepEqual(f.maskKey, keys.issued[i], `frame ${i} uses key ${i}`));
    // Exact bytes: header with the key, then the payload masked with it (checked against the reference mask).
    for (const [i, payload] of [
      [0, Buffer.from('a')],
      [1, binaryOf(300)],
      [2, big],
      [3, Buffer.from('€'.repeat(6000))],
      [5, binaryOf(20 * KiB)],
    ] as const) {
      const header = frameHeader({ opcode: frames[i].opcode, fin: frames[i].fin, mask: keys.issued[i] }, payload.length);
      assert.equal(toHex(frames[i].wire.subarray(0, header.length)), toHex(header), `frame ${i} header`);
      assert.ok(frames[i].wire.subarray(header.length).equals(naiveMask(payload, keys.issued[i])), `frame ${i} masked payload`);
    }
    assert.deepEqual(closeOf(frames[7]), { code: 4000, reason: 'end' });
  });

  it('never modifies the caller\'s buffer when masking (small, > 16 KiB, Buffer and plain Uint8Array, views)', () => {
    const keys = deterministicKeys([hex('ff 00 aa 55')]);
    const { protocol } = endpoint({ role: 'client', maskKeySource: keys.source });
    const backing = new Uint8Array(40 * KiB + 8).fill(0x33);
    const inputs: Array<[string, Uint8Array, (data: Uint8Array) => void]> = [
      ['small Buffer', Buffer.from('small payload'), (d) => protocol.sendBinary(d)],
      ['16 KiB Buffer', binaryOf(16 * KiB), (d) => protocol.sendBinary(d)],
      ['16 KiB + 1 Buffer', binaryOf(16 * KiB + 1), (d) => protocol.sendBinary(d)],
      ['1 MiB Buffer', binaryOf(MiB), (d) => protocol.sendBinary(d)],
      ['large Uint8Array view', new Uint8Array(backing.buffer, 3, 40 * KiB), (d) => protocol.sendBinary(d)],
      ['small Uint8Array', Uint8Array.of(1, 2, 3), (d) => protocol.sendBinary(d)],
      ['large fragment', binaryOf(30 * KiB), (d) => protocol.sendFragment(OP.BINARY, d, true)],
      ['ping payload', Buffer.from('ping!'), (d) => protocol.sendPing(d)],
      ['pong payload', Buffer.from('pong!'), (d) => protocol.sendPong(d)],
    ];
    for (const [name, data, send] of inputs) {
      const before = Buffer.from(data);
      send(data);
      assert.ok(Buffer.from(data).equals(before), `${name}: the caller's buffer was masked in place`);
      const [frame] = takeFrames(protocol);
      assert.ok(frame.payload.equals(before), `${name}: the frame carries the payload`);
      assert.ok(frame.wire.subarray(frame.wire.length - before.length).equals(naiveMask(before, hex('ff 00 aa 55'))), `${name}: the payload on the wire is masked`);
    }
    assert.equal(backing[0], 0x33);
    assert.equal(backing[3 + 40 * KiB], 0x33);
  });

  it('a masked frame from the server → 1002 (§5.1); the client\'s close frame is masked', () => {
    for (const chunks of [whole(clientFrame(OP.TEXT, 'masked')), bytewise(clientFrame(OP.TEXT, 'masked'))]) {
      const keys = deterministicKeys([hex('01 02 03 04')]);
      const ep = endpoint({ role: 'client', maskKeySource: keys.source });
      feed(ep.protocol, chunks);
      const out = assertFailed(ep, 'WS_ERR_MASKED_FRAME', 1002);
      assert.deepEqual(out[0].maskKey, hex('01 02 03 04'));
      assertInputIgnored(ep, serverFrame(OP.TEXT, 'late'));
    }
  });

  it('receives unmasked frames, answers pings with masked pongs, echoes the server\'s close, and waits for TCP close', () => {
    const keys = deterministicKeys();
    const ep = endpoint({ role: 'client', maskKeySource: keys.source });
    const wire = Buffer.concat([serverFrame(OP.TEXT, 'Hel', { fin: false }), serverFrame(OP.PING, 'Hello'), serverFrame(OP.CONT, 'lo'), serverFrame(OP.CLOSE, closeBody(1001))]);
    feed(ep.protocol, bytewise(wire));
    assert.deepEqual(plainEvents(ep.listener.events), [
      { type: 'ping', data: Buffer.from('Hello').toString('hex') },
      { type: 'text', text: 'Hello' },
      { type: 'close', code: 1001, reason: '' },
    ]);
    const out = takeFrames(ep.protocol);
    assert.deepEqual(out.map(describeFrame), [`PONG ${Buffer.from('Hello').toString('hex')}`, 'CLOSE 1001 ""']);
    assert.deepEqual(
      out.map((f) => f.maskKey),
      keys.issued.slice(0, 2),
    );
    assert.notEqual(ep.protocol.transportAction, 'close-now');
  });
});

// --- properties ------------------------------------------------------------------------------

/** One item of a random valid conversation from a client. */
type Item =
  | { kind: 'message'; opcode: 1 | 2; payload: Uint8Array; cuts: number[]; pingsBetween: Array<Uint8Array | null>; keys: Uint8Array[] }
  | { kind: 'ping' | 'pong'; payload: Uint8Array; key: Uint8Array };

const keyArb = fc.uint8Array({ minLength: 4, maxLength: 4 });
const controlPayloadArb = fc.uint8Array({ maxLength: 125 });

const messageArb: fc.Arbitrary<Item> = fc
  .record({
    opcode: fc.constantFrom(1 as const, 2 as const),
    // Mostly short payloads, often a few KiB (fast-check's default size would keep them tiny).
    text: fc.oneof(fc.string({ unit: 'binary', maxLength: 20 }), fc.string({ unit: 'binary', maxLength: 1000, size: 'max' })),
    bytes: fc.oneof(fc.uint8Array({ maxLength: 20 }), fc.uint8Array({ maxLength: 4000, size: 'max' })),
    cuts: fc.array(fc.nat(), { maxLength: 5, size: 'max' }),
    pings: fc.array(fc.option(controlPayloadArb, { freq: 2 }), { maxLength: 6, size: 'max' }),
    keys: fc.array(keyArb, { minLength: 6, maxLength: 6 }),
  })
  .map(({ opcode, text, bytes, cuts, pings, keys }) => {
    const payload = opcode === 1 ? Buffer.from(text, 'utf8') : bytes;
    return { kind: 'message' as const, opcode, payload, cuts: cuts.map((c) => c % (payload.length + 1)).sort((a, b) => a - b), pingsBetween: pings, keys };
  });

const controlArb: fc.Arbitrary<Item> = fc.record({ kind: fc.constantFrom('ping' as const, 'pong' as const), payload: controlPayloadArb, key: keyArb });

const conversationArb = fc.record({
  items: fc.array(fc.oneof({ arbitrary: messageArb, weight: 3 }, { arbitrary: controlArb, weight: 1 }), { maxLength: 6, size: 'max' }),
  close: fc.option(fc.record({ code: fc.constantFrom(1000, 1001, 3000, 4999), reason: fc.string({ maxLength: 20 }) })),
  seed: fc.integer(),
});

/** The wire bytes of a conversation, the events it must produce and the frames the server must answer with. */
function encodeConversation(conversation: { items: Item[]; close: { code: number; reason: string } | null }): { wire: Buffer; events: unknown[]; answers: string[] } {
  const parts: Buffer[] = [];
  const events: ProtocolEvent[] = [];
  const answers: string[] = [];
  const control = (opcode: number, payload: Uint8Array, key: Uint8Array): void => {
    parts.push(buildFrame({ opcode, payload, mask: key }));
    events.push({ type: opcode === OP.PING ? 'ping' : 'pong', data: Buffer.from(payload) });
    if (opcode === OP.PING) answers.push(`PONG ${Buffer.from(payload).toString('hex')}`);
  };
  for (const item of conversation.items) {
    if (item.kind !== 'message') {
      control(item.kind === 'ping' ? OP.PING : OP.PONG, item.payload, item.key);
      continue;
    }
    const bounds = [0, ...item.cuts, item.payload.length];
    for (let i = 0; i + 1 < bounds.length; i++) {
      const fin = i + 2 === bounds.length;
      parts.push(buildFrame({ opcode: i === 0 ? item.opcode : OP.CONT, fin, payload: item.payload.subarray(bounds[i], bounds[i + 1]), mask: item.keys[i % item.keys.length] }));
      const ping = item.pingsBetween[i];
      if (!fin && ping !== undefined && ping !== null) control(OP.PING, ping, item.keys[(i + 1) % item.keys.length]);
    }
    events.push(item.opcode === 1 ? { type: 'text', text: Buffer.from(item.payload).toString('utf8') } : { type: 'binary', data: Buffer.from(item.payload) });
  }
  if (conversation.close !== null) {
    const { code, reason } = conversation.close;
    parts.push(buildFrame({ opcode: OP.CLOSE, payload: closeBody(code, reason), mask: RFC_KEY }));
    events.push({ type: 'close', code, reason: Buffer.from(reason).toString('utf8') });
    answers.push(`CLOSE ${code} ""`);
  }
  return { wire: Buffer.concat(parts), events: plainEvents(events), answers };
}

describe('properties (fast-check)', () => {
  it('random valid conversations: identical events and output whether fed whole, byte by byte or in random chunks', () => {
    fc.assert(
      fc.property(conversationArb, ({ items, close, seed }) => {
        const { wire, events, answers } = encodeConversation({ items, close });
        const ways: Array<[string, Buffer[]]> = [
          ['whole', whole(wire)],
          ['byte by byte', bytewise(wire)],
          ['random chunks', randomChunks(wire, seed, 1 + (Math.abs(seed) % 200))],
          ['random small chunks', randomChunks(wire, seed + 1, 5)],
        ];
        for (const [name, chunks] of ways) {
          const ep = endpoint();
          feed(ep.protocol, chunks);
          assert.equal(ep.protocol.closeState.error, null, `${name}: ${ep.protocol.closeState.error?.message}`);
          assert.deepEqual(plainEvents(ep.listener.events), events, name);
          assert.deepEqual(takeFrames(ep.protocol).map(describeFrame), answers, name);
          assert.equal(ep.protocol.transportAction === 'close-now', close !== null, name);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('random bytes after valid traffic never throw out of receiveData; errors become onProtocolError + a close frame', () => {
    // Mostly plausible frames (valid opcodes, masked, RSV clear, honest lengths) with
    // occasional faults, so the garbage reaches the deeper rules (continuations,
    // UTF-8, close payloads, limits) instead of stopping at the RSV bits.
    const frameishArb = fc
      .record({
        fin: fc.oneof({ arbitrary: fc.constant(true), weight: 3 }, { arbitrary: fc.constant(false), weight: 1 }),
        rsv: fc.oneof({ arbitrary: fc.constant(0), weight: 12 }, { arbitrary: fc.nat({ max: 7 }), weight: 1 }),
        opcode: fc.oneof({ arbitrary: fc.constantFrom(0, 1, 2, 8, 9, 10), weight: 12 }, { arbitrary: fc.nat({ max: 15 }), weight: 1 }),
        masked: fc.oneof({ arbitrary: fc.constant(true), weight: 12 }, { arbitrary: fc.constant(false), weight: 1 }),
        payload: fc.oneof(
          fc.uint8Array({ maxLength: 140 }),
          fc.string({ unit: 'binary', maxLength: 40 }).map((t) => Buffer.from(t)),
          fc.tuple(fc.nat({ max: 5000 }), fc.string({ maxLength: 10 })).map(([code, reason]) => closeBody(code, reason)),
        ),
        lie: fc.option(fc.nat({ max: 3000 }), { freq: 8 }),
        key: keyArb,
      })
      .map(({ fin, rsv, opcode, masked, payload, lie, key }) =>
        buildFrame({ fin, rsv, opcode, payload, mask: masked ? key : null, ...(lie === null ? {} : { length: lie }) }),
      );
    const garbageArb = fc
      .array(fc.oneof({ arbitrary: fc.uint8Array({ minLength: 1, maxLength: 64 }), weight: 1 }, { arbitrary: frameishArb, weight: 6 }), { minLength: 1, maxLength: 10 })
      .map((parts) => Buffer.concat(parts));
    fc.assert(
      fc.property(conversationArb, garbageArb, fc.integer(), ({ items }, garbage, seed) => {
        // Valid traffic first (within the limits set below), then the garbage.
        const { wire } = encodeConversation({ items: items.filter((i) => i.payload.length <= KiB).slice(0, 3).map((i) => (i.kind === 'message' ? { ...i, cuts: i.cuts.slice(0, 4) } : i)), close: null });
        const ep = endpoint({ maxMessageSize: KiB, maxFragments: 6 });
        const { protocol, listener } = ep;
        feed(protocol, randomChunks(wire, seed, 300));
        assert.equal(protocol.closeState.error, null);
        const before = listener.events.length;
        protocol.takeOutput();
        for (const chunk of randomChunks(garbage, seed, 40)) {
          assert.doesNotThrow(() => protocol.receiveData(chunk));
        }
        const errors = listener.events.filter((e) => e.type === 'error');
        assert.ok(errors.length <= 1, 'at most one protocol error');
        const out = takeFrames(protocol); // well-formed, unmasked server frames
        const error = protocol.closeState.error as ProtocolError | null; // (TypeScript narrowed it to null above)
        if (error !== null) {
          assert.ok(error instanceof ProtocolError);
          assert.ok(error.code.startsWith('WS_ERR_'));
          assert.ok([1002, 1007, 1009].includes(error.closeCode), `close code ${error.closeCode}`);
          assert.equal(listener.events[listener.events.length - 1].type, 'error');
          assert.equal(listener.errors[0], error);
          assert.ok(!listener.events.slice(before).some((e) => e.type === 'close'), 'no close event before the error (input stops at a close)');
          assert.equal(closeOf(out[out.length - 1]).code, error.closeCode);
          assert.equal(protocol.transportAction, 'close-now');
        }
        // Whatever happened, every frame before a close frame is a pong answering a ping, and nothing follows a close.
        const closeAt = out.findIndex((f) => f.opcode === OP.CLOSE);
        if (closeAt >= 0) assert.equal(closeAt, out.length - 1, 'nothing after the close frame');
        assert.ok(out.slice(0, closeAt >= 0 ? closeAt : out.length).every((f) => f.opcode === OP.PONG));
        // After the end (error or close), input is ignored.
        if (error !== null || protocol.closeState.received !== null) assertInputIgnored(ep);
      }),
      { numRuns: 300 },
    );
  });
});
