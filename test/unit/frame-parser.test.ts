/**
 * Incremental frame parser (RFC 6455 §5.2). Every input is fed whole, one
 * byte at a time, split in two at every offset and in random chunks; every
 * per-frame rule is checked for its error code, close code and RFC section,
 * and for failing on the chunk that holds the deciding byte (before any
 * payload is handed on).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ProtocolError } from '../../src/errors.js';
import { DESTINATION_MIN, FrameParser, type FrameParserOptions, type FrameSink } from '../../src/framing/frame-parser.js';
import {
  OP,
  RFC_KEY,
  RSV1,
  RSV2,
  RSV3,
  buildFrame,
  bytewise,
  chunkings,
  clientFrame,
  cutAt,
  hex,
  serverFrame,
  whole,
  type FrameSpec,
} from '../helpers/protocol-harness.js';

// --- a recording sink ------------------------------------------------------

interface ParsedFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  length: number;
  /** The payload pieces, concatenated (copied out of the chunks). */
  readonly payload: Buffer;
  /** The pieces as they came (concatenated lazily: byte-by-byte feeding makes thousands). */
  pieces: Buffer[];
  received: number;
  ended: boolean;
}

function newFrame(fin: boolean, rsv: number, opcode: number, length: number): ParsedFrame {
  return {
    fin,
    rsv,
    opcode,
    length,
    pieces: [],
    received: 0,
    ended: false,
    get payload(): Buffer {
      if (this.pieces.length !== 1) this.pieces = [Buffer.concat(this.pieces)];
      return this.pieces[0];
    },
  };
}

class RecordingSink implements FrameSink {
  readonly frames: ParsedFrame[] = [];
  payloadCalls = 0;
  onEnd: (() => void) | null = null;
  onPayload: (() => void) | null = null;

  private get current(): ParsedFrame {
    const frame = this.frames[this.frames.length - 1];
    assert.ok(frame !== undefined && !frame.ended, 'payload or end without a started frame');
    return frame;
  }

  frameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    const last = this.frames[this.frames.length - 1];
    assert.ok(last === undefined || last.ended, 'frameStart before the previous frame ended');
    this.frames.push(newFrame(fin, rsv, opcode, length));
  }

  framePayload(data: Buffer, start: number, end: number): void {
    assert.ok(Buffer.isBuffer(data));
    assert.ok(0 <= start && start < end && end <= data.length, `bad range [${start}, ${end}) of ${data.length}`);
    const frame = this.current;
    frame.pieces.push(Buffer.from(data.subarray(start, end)));
    frame.received += end - start;
    assert.ok(frame.received <= frame.length, 'more payload than the header declared');
    this.payloadCalls++;
    this.onPayload?.();
  }

  frameEnd(): void {
    const frame = this.current;
    assert.equal(frame.received, frame.length, 'frame ended before its declared length');
    frame.ended = true;
    this.onEnd?.();
  }
}

const SERVER: FrameParserOptions = { role: 'server', maxFrameSize: 1 << 20 };
const CLIENT: FrameParserOptions = { role: 'client', maxFrameSize: 1 << 20 };

/** Frames as plain data for deepEqual. */
function plain(frames: readonly ParsedFrame[]): unknown[] {
  return frames.map((f) => ({ fin: f.fin, rsv: f.rsv, opcode: f.opcode, length: f.length, payload: f.payload.toString('hex'), ended: f.ended }));
}

function parse(chunks: readonly Buffer[], options: FrameParserOptions): RecordingSink {
  const sink = new RecordingSink();
  const parser = new FrameParser(sink, options);
  for (const chunk of chunks) parser.push(chunk);
  return sink;
}

/** Decode `wire` in every standard chunking; every chunking must give `expected`. */
function assertDecodes(wire: Buffer, options: FrameParserOptions, expected: Array<Partial<ParsedFrame> & { payload: Buffer }>, splitOffsets?: number[]): void {
  const want = expected.map((f) => ({ fin: true, rsv: 0, length: f.payload.length, ended: true, ...f, payload: f.payload.toString('hex') }));
  for (const { name, chunks } of chunkings(wire, splitOffsets)) {
    const sink = parse(chunks, options);
    assert.deepEqual(plain(sink.frames), want, name);
  }
}

// --- §5.7 examples -----------------------------------------------------------

describe('FrameParser decodes the RFC 6455 §5.7 examples in every chunking', () => {
  const hello = Buffer.from('Hello');

  it('a single-frame masked text message (server role)', () => {
    assertDecodes(hex('81 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER, [{ opcode: OP.TEXT, payload: hello }]);
  });

  it('a masked Ping response (Pong) (server role)', () => {
    assertDecodes(hex('8a 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER, [{ opcode: OP.PONG, payload: hello }]);
  });

  it('the fragmented text message, masked with the same key (server role)', () => {
    const wire = Buffer.concat([
      clientFrame(OP.TEXT, 'Hel', { fin: false, mask: RFC_KEY }),
      clientFrame(OP.CONT, 'lo', { mask: RFC_KEY }),
    ]);
    assert.deepEqual(wire, hex('01 83 37 fa 21 3d 7f 9f 4d  80 82 37 fa 21 3d 5b 95'));
    assertDecodes(wire, SERVER, [
      { opcode: OP.TEXT, fin: false, payload: Buffer.from('Hel') },
      { opcode: OP.CONT, payload: Buffer.from('lo') },
    ]);
  });

  it('a masked Ping request (server role)', () => {
    assertDecodes(hex('89 85 37 fa 21 3d 7f 9f 4d 51 58'), SERVER, [{ opcode: OP.PING, payload: hello }]);
  });

  it('256 bytes binary message in a single masked frame (server role)', () => {
    const payload = Buffer.from(Array.from({ length: 256 }, (_, i) => i));
    const wire = clientFrame(OP.BINARY, payload);
    assert.deepEqual(wire.subarray(0, 8), hex('82 FE 01 00 37 fa 21 3d'));
    assertDecodes(wire, SERVER, [{ opcode: OP.BINARY, payload }]);
  });

  it('64KiB binary message in a single masked frame (server role; split at the header and a sample of offsets)', () => {
    const payload = Buffer.alloc(65536);
    for (let i = 0; i < payload.length; i++) payload[i] = (i * 31) & 0xff;
    const wire = clientFrame(OP.BINARY, payload);
    assert.deepEqual(wire.subarray(0, 14), hex('82 FF 00 00 00 00 00 01 00 00 37 fa 21 3d'));
    const offsets = [...Array.from({ length: 20 }, (_, i) => i + 1), 77, 4097, 32768, 65537, wire.length - 1];
    assertDecodes(wire, SERVER, [{ opcode: OP.BINARY, payload }], offsets);
  });

  it('the unmasked examples (client role): text, fragmented text, ping, 256 B, 64 KiB', () => {
    assertDecodes(hex('81 05 48 65 6c 6c 6f'), CLIENT, [{ opcode: OP.TEXT, payload: hello }]);
    assertDecodes(hex('01 03 48 65 6c 80 02 6c 6f'), CLIENT, [
      { opcode: OP.TEXT, fin: false, payload: Buffer.from('Hel') },
      { opcode: OP.CONT, payload: Buffer.from('lo') },
    ]);
    assertDecodes(hex('89 05 48 65 6c 6c 6f'), CLIENT, [{ opcode: OP.PING, payload: hello }]);
    const b256 = Buffer.alloc(256, 7);
    assertDecodes(Buffer.concat([hex('82 7E 01 00'), b256]), CLIENT, [{ opcode: OP.BINARY, payload: b256 }]);
    const b64k = Buffer.alloc(65536, 9);
    assertDecodes(Buffer.concat([hex('82 7F 00 00 00 00 00 01 00 00'), b64k]), CLIENT, [{ opcode: OP.BINARY, payload: b64k }], [1, 2, 5, 9, 10, 11, 40000]);
  });
});

describe('FrameParser: other valid input', () => {
  it('reports an empty frame as start then end, with no payload call', () => {
    const sink = parse(whole(clientFrame(OP.BINARY, '')), SERVER);
    assert.deepEqual(plain(sink.frames), [{ fin: true, rsv: 0, opcode: OP.BINARY, length: 0, payload: '', ended: true }]);
    assert.equal(sink.payloadCalls, 0);
  });

  it('decodes many frames back to back, every length form, in every chunking', () => {
    const frames = [
      { opcode: OP.TEXT, fin: false, payload: Buffer.from('a') },
      { opcode: OP.PING, payload: Buffer.alloc(125, 1) },
      { opcode: OP.CONT, fin: false, payload: Buffer.alloc(0) },
      { opcode: OP.CONT, fin: false, payload: Buffer.alloc(126, 2) },
      { opcode: OP.CONT, payload: Buffer.alloc(300, 3) },
      { opcode: OP.CLOSE, payload: Buffer.from([0x03, 0xe8]) },
    ];
    const keys = [hex('00 00 00 00'), hex('ff ff ff ff'), hex('01 02 03 04'), RFC_KEY, hex('80 40 20 10'), hex('aa 55 aa 55')];
    const wire = Buffer.concat(frames.map((f, i) => buildFrame({ ...f, mask: keys[i] })));
    const sampled = Array.from({ length: 200 }, (_, i) => i * 3 + 1);
    assertDecodes(wire, SERVER, frames, sampled);
  });

  it('accepts a non-minimal length form (§5.2\'s "minimal number of bytes" binds the sender)', () => {
    const payload = Buffer.from('hi');
    for (const lengthForm of [16, 64] as const) {
      assertDecodes(clientFrame(OP.TEXT, payload, { lengthForm }), SERVER, [{ opcode: OP.TEXT, payload }]);
    }
  });

  it('reports a 64-bit length above 2^32 exactly (header only)', () => {
    const length = 2 ** 32 + 1;
    const header = buildFrame({ opcode: OP.BINARY, mask: RFC_KEY, length, payload: '' });
    for (const chunks of [whole(header), bytewise(header)]) {
      const sink = parse(chunks, { role: 'server', maxFrameSize: 2 ** 40 });
      assert.equal(sink.frames.length, 1);
      assert.equal(sink.frames[0].length, length);
      assert.equal(sink.frames[0].ended, false);
    }
  });

  it('a lying length (declared longer than sent) keeps waiting; the next bytes count as payload', () => {
    const lying = clientFrame(OP.BINARY, 'abcde', { length: 10 });
    const sink = parse(whole(lying), SERVER);
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.frames[0].ended, false);
    assert.equal(sink.frames[0].payload.toString(), 'abcde');
  });

  it('passes an allowed RSV bit through on data frames (allowedRsv: RSV1)', () => {
    const wire = clientFrame(OP.BINARY, 'x', { rsv: RSV1 });
    assertDecodes(wire, { ...SERVER, allowedRsv: RSV1 }, [{ opcode: OP.BINARY, rsv: RSV1, payload: Buffer.from('x') }]);
  });

  it('unmasks across chunk boundaries at every mask phase (payload split at every offset)', () => {
    const payload = Buffer.from(Array.from({ length: 150 }, (_, i) => (i * 11) & 0xff));
    assertDecodes(clientFrame(OP.BINARY, payload, { mask: hex('de ad be ef') }), SERVER, [{ opcode: OP.BINARY, payload }]);
  });
});

// --- payload destinations (unmask while copying) ------------------------------

/**
 * A sink that gathers payload the way the protocol core does: into its own
 * buffer, naming it as the destination for pieces the parser asks about.
 */
class GatheringSink extends RecordingSink {
  readonly store = Buffer.alloc(300_000, 0xee);
  stored = 0;
  asked: number[] = [];
  /** Hand out destinations only while this is true. */
  offer = true;

  payloadDestination(length: number): Buffer | null {
    this.asked.push(length);
    return this.offer ? this.store.subarray(this.stored, this.stored + length) : null;
  }

  override framePayload(data: Buffer, start: number, end: number): void {
    super.framePayload(data, start, end);
    const inPlace = data.buffer === this.store.buffer && data.byteOffset + start === this.store.byteOffset + this.stored;
    if (!inPlace) data.copy(this.store, this.stored, start, end);
    this.stored += end - start;
  }
}

describe('FrameParser payload destinations (FrameSink.payloadDestination)', () => {
  const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7 + (i >> 9)) & 0xff));
  const key = hex('de ad be ef');
  const wire = clientFrame(OP.BINARY, payload, { mask: key });
  const header = wire.length - payload.length;

  const SERVER_BIG: FrameParserOptions = { role: 'server', maxFrameSize: 1 << 20 };

  /** Feed `wire` cut at `cuts`; returns the chunks the parser modified (unmasked in place). */
  function feedIn(sink: GatheringSink, cuts: number[]): Buffer[] {
    const chunks = cutAt(wire, cuts);
    const copies = chunks.map((c) => Buffer.from(c));
    const parser = new FrameParser(sink, SERVER_BIG);
    for (const chunk of chunks) parser.push(chunk);
    return chunks.filter((chunk, i) => !chunk.equals(copies[i]));
  }

  it('unmasks large pieces straight into the destination, in any phase, and leaves those chunks untouched', () => {
    // Cuts at odd offsets so pieces start at every mask phase; the middle ones are above DESTINATION_MIN.
    const cuts = [header + 1, header + 65_538, header + 65_539, header + 131_077, header + 199_999];
    const sink = new GatheringSink();
    const changed = feedIn(sink, cuts);
    assert.ok(sink.store.subarray(0, payload.length).equals(payload), 'the gathered payload is the unmasked payload');
    assert.deepEqual(plain(sink.frames), [{ fin: true, rsv: 0, opcode: OP.BINARY, length: payload.length, payload: payload.toString('hex'), ended: true }]);
    // Pieces: 1, 65,537, 1, 65,538, 68,922, 1 bytes. Only the three large ones are offered...
    assert.deepEqual(sink.asked, [65_537, 65_538, 68_922]);
    // ...and only the chunks holding the 1-byte pieces were unmasked in place.
    assert.deepEqual(changed.map((chunk) => chunk.length), [header + 1, 1, 1]);
  });

  it('a sink that declines (null) gets every piece unmasked in place, with the same result', () => {
    const sink = new GatheringSink();
    sink.offer = false;
    const changed = feedIn(sink, [header + 3, header + 70_001]);
    assert.ok(sink.store.subarray(0, payload.length).equals(payload));
    assert.deepEqual(sink.asked, [69_998, 129_999]);
    assert.equal(changed.length, 3, 'every chunk was unmasked in place');
  });

  it('pieces below DESTINATION_MIN are never offered, and unmasked frames (client role) never either', () => {
    const sink = new GatheringSink();
    const small = clientFrame(OP.BINARY, payload.subarray(0, 5000), { mask: key });
    const parser = new FrameParser(sink, SERVER_BIG);
    for (let i = 0; i < small.length; i += DESTINATION_MIN - 1) parser.push(small.subarray(i, Math.min(small.length, i + DESTINATION_MIN - 1)));
    assert.deepEqual(sink.asked, []);
    assert.ok(sink.store.subarray(0, 5000).equals(payload.subarray(0, 5000)));

    const client = new GatheringSink();
    new FrameParser(client, { role: 'client', maxFrameSize: 1 << 20 }).push(serverFrame(OP.BINARY, payload));
    assert.deepEqual(client.asked, []);
    assert.ok(client.store.subarray(0, payload.length).equals(payload));
  });
});

// --- per-frame rules -----------------------------------------------------------

interface RuleCase {
  name: string;
  frame: Buffer;
  options?: Partial<FrameParserOptions>;
  code: string;
  closeCode: number;
  rfcSection: string;
  /** First byte of the bad frame at which the rule can be decided. */
  earliest: number;
  /** Byte of the bad frame by which this parser must have failed (the end of the header at the latest). */
  latest: number;
}

/** Header length of a built frame (2 + extended length + key). */
function headerLength(frame: Buffer): number {
  const len7 = frame[1] & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + ((frame[1] & 0x80) !== 0 ? 4 : 0);
}

const masked = (spec: Omit<FrameSpec, 'mask'>): Buffer => buildFrame({ ...spec, mask: RFC_KEY });

function ruleCases(): RuleCase[] {
  const cases: RuleCase[] = [];
  const p = (rest: Omit<RuleCase, 'closeCode' | 'rfcSection'> & Partial<RuleCase>): void => {
    cases.push({ closeCode: 1002, rfcSection: '5.2', ...rest });
  };
  for (const [bit, name] of [[RSV1, 'RSV1'], [RSV2, 'RSV2'], [RSV3, 'RSV3']] as const) {
    p({ name: `${name} set without an extension`, frame: masked({ opcode: OP.TEXT, rsv: bit, payload: 'x' }), code: 'WS_ERR_RESERVED_BITS', earliest: 0, latest: 1 });
    p({ name: `${name} set on a PING`, frame: masked({ opcode: OP.PING, rsv: bit, payload: 'x' }), code: 'WS_ERR_RESERVED_BITS', earliest: 0, latest: 1 });
  }
  p({
    name: 'RSV1 on a control frame even with RSV1 negotiated (RFC 7692 §6)',
    frame: masked({ opcode: OP.PING, rsv: RSV1, payload: 'x' }),
    options: { allowedRsv: RSV1 },
    code: 'WS_ERR_RESERVED_BITS',
    earliest: 0,
    latest: 1,
  });
  p({ name: 'RSV2 with only RSV1 negotiated', frame: masked({ opcode: OP.BINARY, rsv: RSV2, payload: 'x' }), options: { allowedRsv: RSV1 }, code: 'WS_ERR_RESERVED_BITS', earliest: 0, latest: 1 });
  for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
    p({ name: `reserved opcode 0x${opcode.toString(16)}`, frame: masked({ opcode, payload: 'x' }), code: 'WS_ERR_RESERVED_OPCODE', earliest: 0, latest: 1 });
  }
  p({ name: 'unmasked frame to a server', frame: buildFrame({ opcode: OP.TEXT, payload: 'x', mask: null }), code: 'WS_ERR_UNMASKED_FRAME', rfcSection: '5.1', earliest: 1, latest: 1 });
  p({ name: 'unmasked empty frame to a server', frame: buildFrame({ opcode: OP.PING, mask: null }), code: 'WS_ERR_UNMASKED_FRAME', rfcSection: '5.1', earliest: 1, latest: 1 });
  p({ name: 'masked frame to a client', frame: masked({ opcode: OP.TEXT, payload: 'x' }), options: { role: 'client' }, code: 'WS_ERR_MASKED_FRAME', rfcSection: '5.1', earliest: 1, latest: 1 });
  for (const opcode of [OP.CLOSE, OP.PING, OP.PONG]) {
    p({
      name: `control frame (0x${opcode.toString(16)}) of 126 bytes`,
      frame: masked({ opcode, payload: Buffer.alloc(126) }),
      code: 'WS_ERR_CONTROL_FRAME_TOO_LONG',
      rfcSection: '5.5',
      earliest: 1,
      latest: 1,
    });
    p({
      name: `control frame (0x${opcode.toString(16)}) declaring 125 bytes in the 64-bit form`,
      frame: masked({ opcode, payload: Buffer.alloc(125), lengthForm: 64 }),
      code: 'WS_ERR_CONTROL_FRAME_TOO_LONG',
      rfcSection: '5.5',
      earliest: 1,
      latest: 1,
    });
    p({ name: `fragmented control frame (0x${opcode.toString(16)})`, frame: masked({ opcode, fin: false, payload: 'x' }), code: 'WS_ERR_FRAGMENTED_CONTROL_FRAME', rfcSection: '5.5', earliest: 0, latest: 1 });
  }
  p({
    name: '64-bit length with its most significant bit set',
    frame: masked({ opcode: OP.BINARY, length: 1n << 63n, payload: 'xyz' }),
    code: 'WS_ERR_INVALID_LENGTH',
    earliest: 2,
    latest: 13,
  });
  p({
    name: '64-bit length 0xffffffffffffffff',
    frame: masked({ opcode: OP.BINARY, length: (1n << 64n) - 1n, payload: 'xyz' }),
    code: 'WS_ERR_INVALID_LENGTH',
    earliest: 2,
    latest: 13,
  });
  // maxFrameSize: one over the limit in each length form fails as soon as the header is read.
  for (const limit of [10, 125, 1000, 65535, 70000]) {
    const frame = masked({ opcode: OP.BINARY, length: limit + 1, payload: 'abc' });
    const h = headerLength(frame);
    p({
      name: `frame of maxFrameSize + 1 (limit ${limit})`,
      frame,
      options: { maxFrameSize: limit },
      code: 'WS_ERR_FRAME_TOO_BIG',
      closeCode: 1009,
      rfcSection: '10.4',
      earliest: h - 5, // last byte of the length
      latest: h - 1, // last byte of the masking key
    });
  }
  p({
    name: '64-bit length above 2^53 (MSB clear) is over any limit',
    frame: masked({ opcode: OP.BINARY, length: (1n << 62n) + 1n, payload: 'a' }),
    options: { maxFrameSize: Number.MAX_SAFE_INTEGER },
    code: 'WS_ERR_FRAME_TOO_BIG',
    closeCode: 1009,
    rfcSection: '10.4',
    earliest: 9,
    latest: 13,
  });
  return cases;
}

describe('FrameParser per-frame rules: code, close code, and failing on the deciding chunk', () => {
  // A valid frame first: the rule must be enforced mid-stream too, and frames before it still delivered.
  for (const rule of ruleCases()) {
    it(`${rule.name} → ${rule.code} (${rule.closeCode}, §${rule.rfcSection})`, () => {
      const options: FrameParserOptions = { ...SERVER, ...rule.options };
      const prefix = options.role === 'server' ? clientFrame(OP.TEXT, 'Hello') : serverFrame(OP.TEXT, 'Hello');
      const wire = Buffer.concat([prefix, rule.frame]);
      const earliest = prefix.length + rule.earliest;
      const latest = prefix.length + rule.latest;
      assert.ok(latest < prefix.length + headerLength(rule.frame), 'a per-frame rule is decided within the header');
      for (const { name, chunks } of chunkings(wire)) {
        const sink = new RecordingSink();
        const parser = new FrameParser(sink, options);
        let offset = 0;
        let failed: { error: unknown; start: number; end: number } | undefined;
        for (const chunk of chunks) {
          try {
            parser.push(chunk);
          } catch (error) {
            failed = { error, start: offset, end: offset + chunk.length };
            break;
          }
          offset += chunk.length;
        }
        assert.ok(failed !== undefined, `${name}: no error`);
        const error = failed.error;
        assert.ok(error instanceof ProtocolError, `${name}: ${String(error)}`);
        assert.equal(error.code, rule.code, name);
        assert.equal(error.closeCode, rule.closeCode, name);
        assert.equal(error.rfcSection, rule.rfcSection, name);
        assert.ok(failed.end > earliest, `${name}: failed on bytes [${failed.start}, ${failed.end}) before byte ${earliest} could decide`);
        assert.ok(failed.start <= latest, `${name}: failed on bytes [${failed.start}, ${failed.end}), after byte ${latest}`);
        // The valid frame before was delivered whole; the bad frame never reached the sink.
        assert.deepEqual(plain(sink.frames), [{ fin: true, rsv: 0, opcode: OP.TEXT, length: 5, payload: Buffer.from('Hello').toString('hex'), ended: true }], name);
      }
    });
  }

  it('maxFrameSize: a frame exactly at the limit passes, in each length form', () => {
    for (const limit of [0, 10, 125, 126, 1000, 65535, 65536, 70000]) {
      const payload = Buffer.alloc(limit, 0x42);
      const wire = clientFrame(OP.BINARY, payload);
      const sink = parse(whole(wire), { role: 'server', maxFrameSize: limit });
      assert.equal(sink.frames.length, 1, `limit ${limit}`);
      assert.ok(sink.frames[0].ended && sink.frames[0].payload.equals(payload), `limit ${limit}`);
      const bytewiseSink = parse(cutAt(wire, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]), { role: 'server', maxFrameSize: limit });
      assert.ok(bytewiseSink.frames[0].ended, `limit ${limit}, header byte by byte`);
    }
  });

  it('control frames of exactly 125 bytes pass', () => {
    for (const opcode of [OP.PING, OP.PONG, OP.CLOSE]) {
      const payload = Buffer.alloc(125, 0x61);
      assertDecodes(clientFrame(opcode, payload), SERVER, [{ opcode, payload }], [1, 2, 3, 6, 7, 100]);
    }
  });

  it('an unmasked frame to a client and a masked frame to a server pass (the right direction)', () => {
    assertDecodes(serverFrame(OP.BINARY, 'ok'), CLIENT, [{ opcode: OP.BINARY, payload: Buffer.from('ok') }]);
    assertDecodes(clientFrame(OP.BINARY, 'ok'), SERVER, [{ opcode: OP.BINARY, payload: Buffer.from('ok') }]);
  });
});

describe('FrameParser.halt()', () => {
  it('discards every later byte', () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    parser.push(clientFrame(OP.TEXT, 'one'));
    assert.equal(parser.halted, false);
    parser.halt();
    assert.equal(parser.halted, true);
    parser.push(clientFrame(OP.TEXT, 'two'));
    parser.push(Buffer.from([0xff, 0xff, 0xff])); // garbage would throw if parsed
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.frames[0].payload.toString(), 'one');
  });

  it('halting in frameEnd drops the rest of the same chunk', () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    sink.onEnd = () => parser.halt();
    parser.push(Buffer.concat([clientFrame(OP.CLOSE, hex('03 e8')), clientFrame(OP.TEXT, 'after'), Buffer.from([0x73])]));
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.frames[0].opcode, OP.CLOSE);
  });

  it('halting in framePayload stops mid-frame: no frameEnd, nothing more', () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    sink.onPayload = () => parser.halt();
    const wire = Buffer.concat([clientFrame(OP.BINARY, 'abcdef'), clientFrame(OP.TEXT, 'next')]);
    const [first, ...rest] = cutAt(wire, [9]); // header (6) + 3 payload bytes
    parser.push(first);
    for (const chunk of rest) parser.push(chunk);
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.frames[0].payload.toString(), 'abc');
    assert.equal(sink.frames[0].ended, false);
    assert.equal(sink.payloadCalls, 1);
  });

  it('halting in frameStart of an empty frame: no frameEnd', () => {
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    const original = sink.frameStart.bind(sink);
    sink.frameStart = (...args) => {
      original(...args);
      parser.halt();
    };
    parser.push(Buffer.concat([clientFrame(OP.PING, ''), clientFrame(OP.PING, '')]));
    assert.equal(sink.frames.length, 1);
    assert.equal(sink.frames[0].ended, false);
  });
});

describe('lengths in error messages', () => {
  it('a 64-bit length above 2^53 is printed exactly (2^62, not 4611686018427388000)', { timeout: 5000 }, () => {
    const sink: FrameSink = { frameStart() {}, framePayload() {}, frameEnd() {} };
    const parser = new FrameParser(sink, { role: 'client', maxFrameSize: 1 << 20 });
    const header = Buffer.from([0x82, 127, 0x40, 0, 0, 0, 0, 0, 0, 1]); // 2^62 + 1
    assert.throws(
      () => parser.push(header),
      (error: unknown) => error instanceof ProtocolError && error.closeCode === 1009 && error.message.includes('frame of 4611686018427387905 bytes'),
    );
  });
});

describe('FrameParser.maxPiece: a large payload is handed over in pieces no larger', () => {
  it('splits a masked 200,000-byte payload read whole into pieces of at most maxPiece, same bytes, same mask phase', () => {
    const payload = Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 13 + (i >> 7)) & 0xff));
    const wire = clientFrame(OP.BINARY, payload, { mask: hex('01 23 45 67') });
    for (const maxPiece of [1024, 4093, 65_536]) {
      const sink = new RecordingSink();
      const parser = new FrameParser(sink, SERVER);
      parser.maxPiece = maxPiece;
      assert.equal(parser.push(Buffer.from(wire)), wire.length);
      const [frame] = sink.frames;
      assert.ok(frame.pieces.every((p) => p.length <= maxPiece), `every piece at most ${maxPiece} bytes`);
      assert.equal(frame.pieces.length, Math.ceil(payload.length / maxPiece));
      assert.ok(frame.payload.equals(payload), 'the pieces unmask to the payload (the mask phase carries over odd piece sizes)');
    }
  });

  it('a sink that stops after a piece gets the rest of the frame on the next push, from where it stopped', () => {
    const payload = Buffer.alloc(10_000, 0x5a);
    const wire = clientFrame(OP.BINARY, payload);
    const sink = new RecordingSink();
    const parser = new FrameParser(sink, SERVER);
    parser.maxPiece = 3000;
    sink.onPayload = () => parser.requestStop();
    let offset = 0;
    let pushes = 0;
    while (offset < wire.length) {
      offset += parser.push(wire.subarray(offset));
      pushes++;
    }
    assert.equal(pushes, 4, 'pieces of 3,000 + 3,000 + 3,000 + 1,000 bytes, one per push');
    assert.ok(sink.frames[0].ended && sink.frames[0].payload.equals(payload));
  });
});
