/**
 * Mutation fuzzers for the two parsers that face the network, run for as long
 * as you like (not part of `npm test`; the property tests there cover the
 * same invariants briefly):
 *
 *   npx tsx fuzzing/fuzz-targets.ts [--seconds 60] [--seed 1234]
 *
 * Inputs are valid wire streams (frames; HTTP upgrade requests) mutated by
 * bit flips, byte insertions, deletions, splices and length rewrites, then fed
 * in random chunks. Invariants checked on every input:
 *  - protocol: receiveData never throws; a failure queues exactly one close
 *    frame with the error's close code as the last output; the same bytes fed
 *    whole or in chunks produce the same events; output frames are well formed
 *    (unmasked, FIN set on control frames, no RSV bits).
 *  - HTTP head parser: feed() returns undefined, a head, or throws
 *    HandshakeError (never another error), and chunking does not change which.
 */
import { parseArgs } from 'node:util';
import { HandshakeError } from '../src/errors.js';
import { HttpHeadParser } from '../src/handshake/http-head-parser.js';
import { WebSocketProtocol, type ProtocolListener } from '../src/protocol/protocol.js';

const { values } = parseArgs({ options: { seconds: { type: 'string', default: '30' }, seed: { type: 'string' } } });
let seed = Number(values.seed ?? Date.now() % 1_000_000);
const startSeed = seed;
function random(): number {
  // xorshift32: reproducible from --seed.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 0x100000000;
}
const int = (n: number): number => Math.floor(random() * n);

function frame(opcode: number, payload: Buffer, fin = true, rsv = 0): Buffer {
  const mask = Buffer.from([int(256), int(256), int(256), int(256)]);
  const len = payload.length;
  const head = len < 126 ? Buffer.from([0, 0x80 | len]) : len < 65536 ? Buffer.from([0, 0x80 | 126, len >> 8, len & 255]) : Buffer.concat([Buffer.from([0, 0x80 | 127, 0, 0, 0, 0]), Buffer.from([len >>> 24, (len >> 16) & 255, (len >> 8) & 255, len & 255])]);
  head[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
  const masked = Buffer.from(payload);
  for (let i = 0; i < masked.length; i++) masked[i] ^= mask[i & 3];
  return Buffer.concat([head, mask, masked]);
}

function validStream(): Buffer {
  const parts: Buffer[] = [];
  const count = 1 + int(6);
  for (let i = 0; i < count; i++) {
    const kind = int(6);
    const size = [0, 1, 5, 125, 126, 300, 70000][int(7)];
    const text = Buffer.from('aé€😀'.repeat(Math.ceil(size / 10) + 1)).subarray(0, size);
    if (kind === 0) parts.push(frame(0x1, Buffer.from(text.toString('utf8'))));
    else if (kind === 1) parts.push(frame(0x2, Buffer.alloc(size, int(256))));
    else if (kind === 2) parts.push(frame(0x9, Buffer.alloc(int(126), 7)));
    else if (kind === 3) parts.push(frame(0xa, Buffer.alloc(int(10))));
    else if (kind === 4) parts.push(frame(0x1, Buffer.from('ab'), false), frame(0x9, Buffer.alloc(0)), frame(0x0, Buffer.from('cd')));
    else parts.push(frame(0x8, Buffer.from([0x03, 0xe8, 0x6f, 0x6b])));
  }
  return Buffer.concat(parts);
}

function mutate(input: Buffer): Buffer {
  let bytes = Buffer.from(input);
  const rounds = 1 + int(4);
  for (let r = 0; r < rounds && bytes.length > 0; r++) {
    const at = int(bytes.length);
    switch (int(5)) {
      case 0: bytes[at] ^= 1 << int(8); break;
      case 1: bytes = Buffer.concat([bytes.subarray(0, at), Buffer.from([int(256)]), bytes.subarray(at)]); break;
      case 2: bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(at + 1 + int(8))]); break;
      case 3: bytes[at] = [0x00, 0x7e, 0x7f, 0xff, 0x80, 0xc0, 0xed, 0xf4][int(8)]; break;
      default: bytes = Buffer.concat([bytes, bytes.subarray(at, at + int(64))]); break;
    }
  }
  return bytes;
}

function chunks(input: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < input.length; ) {
    const n = 1 + int(Math.min(input.length - i, random() < 0.3 ? 3 : 4096));
    out.push(Buffer.from(input.subarray(i, i + n)));
    i += n;
  }
  return out;
}

function runProtocol(pieces: Buffer[]): { events: string[]; output: Buffer } {
  const events: string[] = [];
  const listener: ProtocolListener = {
    onText: (t) => events.push(`text:${t.length}`),
    onBinary: (b) => events.push(`bin:${b.length}`),
    onPing: (p) => events.push(`ping:${p.length}`),
    onPong: (p) => events.push(`pong:${p.length}`),
    onCloseFrame: (c) => events.push(`close:${c}`),
    onProtocolError: (e) => events.push(`error:${e.closeCode}:${e.code}`),
    onInternalError: (e) => events.push(`internal:${e.closeCode}:${String(e.cause)}`),
  };
  const protocol = new WebSocketProtocol(listener, { role: 'server', maxMessageSize: 1 << 20, logger: null });
  for (const piece of pieces) {
    protocol.receiveData(piece);
    // A transport goes on with input kept back at its turn budget on a later turn.
    while (protocol.hasPendingInput) protocol.resumeInput();
  }
  if (protocol.closeState.error !== null && protocol.closeState.sent === null) throw new Error('failed without a close frame');
  return { events, output: Buffer.concat(protocol.takeOutput()) };
}

/** Server output must be well-formed frames; returns the last frame's opcode and close code. */
function checkOutput(output: Buffer): { lastOpcode: number; lastCode: number } {
  let pos = 0;
  let lastOpcode = -1;
  let lastCode = -1;
  while (pos < output.length) {
    const b0 = output[pos];
    const b1 = output[pos + 1];
    if (b1 & 0x80) throw new Error('server frame is masked');
    if (b0 & 0x70) throw new Error('server frame has RSV bits');
    let len = b1 & 0x7f;
    let p = pos + 2;
    if (len === 126) { len = output.readUInt16BE(p); p += 2; } else if (len === 127) { len = Number(output.readBigUInt64BE(p)); p += 8; }
    lastOpcode = b0 & 0x0f;
    if (lastOpcode >= 8 && !(b0 & 0x80)) throw new Error('fragmented control frame sent');
    lastCode = lastOpcode === 8 && len >= 2 ? output.readUInt16BE(p) : -1;
    pos = p + len;
  }
  if (pos !== output.length) throw new Error('output ends inside a frame');
  return { lastOpcode, lastCode };
}

function httpOutcome(pieces: Buffer[]): string {
  const parser = new HttpHeadParser('request');
  try {
    for (const piece of pieces) {
      const result = parser.feed(piece);
      if (result) return `head:${result.head.method}:${result.head.headers.raw.length}:${result.rest.length + pieces.slice(pieces.indexOf(piece) + 1).reduce((n, b) => n + b.length, 0)}`;
    }
    return 'incomplete';
  } catch (error) {
    if (error instanceof HandshakeError) return `error:${error.status}:${error.code}`;
    throw error;
  }
}

const request = Buffer.from('GET /chat?x=1 HTTP/1.1\r\nHost: example.com\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nOrigin: http://example.com\r\n\r\n');

const deadline = Date.now() + Number(values.seconds) * 1000;
let protocolRuns = 0;
let httpRuns = 0;
let failures = 0;
while (Date.now() < deadline) {
  const input = random() < 0.9 ? mutate(validStream()) : validStream();
  try {
    const whole = runProtocol([Buffer.from(input)]); // receiveData unmasks in place: give each run its own copy
    const split = runProtocol(chunks(input));
    if (whole.events.join() !== split.events.join()) throw new Error(`chunking changed events:\n ${whole.events.join()}\n ${split.events.join()}`);
    const { lastOpcode, lastCode } = checkOutput(split.output);
    const error = split.events.find((e) => e.startsWith('error:'));
    if (error && (lastOpcode !== 8 || `${lastCode}` !== error.split(':')[1])) throw new Error(`failure ${error} did not end with its close frame`);
    protocolRuns++;
    const req = mutate(request);
    const a = httpOutcome([req]);
    const b = httpOutcome(chunks(req));
    if (a !== b) throw new Error(`HTTP chunking changed the outcome: ${a} vs ${b}`);
    httpRuns++;
  } catch (error) {
    failures++;
    console.error(`FAILURE (seed ${startSeed}, run ${protocolRuns}):`, error, '\ninput:', input.subarray(0, 256).toString('hex'));
    if (failures > 5) break;
  }
}
console.log(`fuzzed ${protocolRuns} frame streams and ${httpRuns} HTTP heads in ${values.seconds}s (seed ${startSeed}): ${protocolRuns + httpRuns} passed, ${failures} failed`);
process.exitCode = failures > 0 ? 1 : 0;
