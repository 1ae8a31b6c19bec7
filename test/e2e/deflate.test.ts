/**
 * permessage-deflate (RFC 7692) end to end, over real sockets:
 *
 *  - negotiation as seen on the wire: raw upgrade requests with hand-written
 *    Sec-WebSocket-Extensions values, and the exact answer (or its absence);
 *  - round trips with the `ws` client at every window size 8..15, with and
 *    without context takeover in each direction;
 *  - what we send, sniffed frame by frame by a hand-made client that inflates
 *    with its own persistent zlib stream: RSV1 set at and above the threshold,
 *    clear below it, contexts and windows as agreed;
 *  - fragmented compressed messages, and the RSV1 rules (RFC 7692 §6);
 *  - decompression bombs (1009, quickly, with bounded memory) and corrupt
 *    compressed data (1007).
 *
 * The hand-made client inflates with the Autobahn mirror's StreamCodec
 * (fuzzing/autobahn-mirror/deflate.ts), which is written independently of
 * src/ and uses long-lived zlib streams instead of our preset dictionaries.
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';
import { constants as zlibConstants, createDeflateRaw, deflateRawSync, inflateRawSync } from 'node:zlib';

import WebSocket from 'ws';

import { parseExtensions, StreamCodec, type DeflateAgreement } from '../../fuzzing/autobahn-mirror/deflate.js';
import { testData } from '../../fuzzing/autobahn-mirror/testdata.js';
import { OP, RSV1, RSV2, RSV3, frame, close as closeFrame, decodeFrames, describeFrame, parseClosePayload, seededBytes, type DecodedFrame } from '../helpers/frames.js';
import { TestServer, parseHttpResponse, upgradeRequest, withTimeout, type HttpResponse, type ServerOptions } from '../helpers/raw-client.js';
import { waitUntil } from '../helpers/wait-until.js';

type DeflatePolicy = Exclude<NonNullable<NonNullable<ServerOptions>['perMessageDeflate']>, boolean>;

const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/** Compress one message the RFC 7692 way with a one-shot zlib call (no context). */
function compressOnce(data: Buffer | string, windowBits = 15): Buffer {
  const out = deflateRawSync(typeof data === 'string' ? Buffer.from(data, 'utf8') : data, { windowBits, finishFlush: zlibConstants.Z_SYNC_FLUSH });
  assert.ok(out.subarray(-4).equals(SYNC_TAIL));
  return out.subarray(0, -4);
}

/** JSON-ish chat traffic: similar small messages, 20 B to a few KiB. */
function chatMessages(count: number, seed: number): string[] {
  const out: string[] = [];
  let x = seed;
  const rand = (n: number): number => {
    x = (Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0;
    return x % n;
  };
  const words = ['hello', 'world', 'price', 'update', 'user', 'room', 'status', 'online', 'message', 'typing', 'ok', 'ack', 'delta', 'bid', 'ask'];
  for (let i = 0; i < count; i++) {
    const items = Array.from({ length: rand(i % 10 === 0 ? 120 : 8) }, (_, k) => ({ id: k + rand(1000), name: words[rand(words.length)], v: rand(100000) / 100 }));
    out.push(JSON.stringify({ seq: i, type: words[rand(words.length)], user: `user-${rand(50)}`, ts: 1_700_000_000_000 + i * 37, items }));
  }
  return out;
}

// ─── raw handshakes ─────────────────────────────────────────────────────────

/** Send an upgrade request (optionally with Sec-WebSocket-Extensions lines) and return the response head; the socket is dropped. */
async function handshake(port: number, extensions: string | readonly string[] | null): Promise<HttpResponse> {
  let request = upgradeRequest(port);
  const lines = extensions === null ? [] : typeof extensions === 'string' ? [extensions] : extensions;
  if (lines.length > 0) request = request.slice(0, -2) + lines.map((l) => `Sec-WebSocket-Extensions: ${l}\r\n`).join('') + '\r\n';
  const socket = net.connect({ host: '127.0.0.1', port });
  socket.on('error', () => {});
  try {
    await once(socket, 'connect');
    socket.write(request, 'latin1');
    let buf = Buffer.alloc(0);
    return await withTimeout(
      new Promise<HttpResponse>((resolve, reject) => {
        socket.on('data', (chunk: Buffer) => {
          buf = Buffer.concat([buf, chunk]);
          const res = parseHttpResponse(buf);
          if (res) resolve(res);
        });
        socket.on('close', () => reject(new Error(`connection closed before a response head: ${JSON.stringify(buf.toString('latin1'))}`)));
      }),
      2000,
      'the handshake response',
    );
  } finally {
    socket.destroy();
  }
}

/** The agreed permessage-deflate parameters, from a response header value. */
function agreementFrom(header: string): DeflateAgreement {
  const parsed = parseExtensions(header);
  assert.ok(typeof parsed !== 'string' && parsed.length === 1 && parsed[0].name === 'permessage-deflate', `not one permessage-deflate: ${header}`);
  const p = new Map(parsed[0].params);
  return {
    serverNoContextTakeover: p.has('server_no_context_takeover'),
    clientNoContextTakeover: p.has('client_no_context_takeover'),
    serverMaxWindowBits: p.has('server_max_window_bits') ? Number(p.get('server_max_window_bits')) : 15,
    clientMaxWindowBits: p.has('client_max_window_bits') ? Number(p.get('client_max_window_bits')) : 15,
    response: header,
  };
}

// ─── a hand-made client that speaks permessage-deflate ─────────────────────

interface ReceivedMessage {
  opcode: number;
  /** Inflated when RSV1 was set. */
  payload: Buffer;
  compressed: boolean;
  /** The frames as they came (payloads still compressed). */
  frames: DecodedFrame[];
}

class DeflateClient {
  readonly frames: DecodedFrame[] = [];
  response!: HttpResponse;
  /** The server's Sec-WebSocket-Extensions answer, if any. */
  extensions: string | undefined;
  codec: StreamCodec | null = null;
  tcpClosed = false;
  private buffer: Buffer = Buffer.alloc(0);
  private readonly wakers = new Set<() => void>();

  private constructor(readonly socket: net.Socket) {
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('close', () => {
      this.tcpClosed = true;
      this.wake();
    });
    socket.on('end', () => this.wake());
  }

  /** Handshake with `extensions` offered (null: no header). */
  static async connect(port: number, extensions: string | null = 'permessage-deflate'): Promise<DeflateClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new DeflateClient(socket);
    await once(socket, 'connect');
    const headers: Record<string, string> = extensions === null ? {} : { 'Sec-WebSocket-Extensions': extensions };
    socket.write(upgradeRequest(port, { headers }), 'latin1');
    let head = Buffer.alloc(0);
    await withTimeout(
      new Promise<void>((resolve, reject) => {
        const onData = (chunk: Buffer): void => {
          head = Buffer.concat([head, chunk]);
          const res = parseHttpResponse(head);
          if (!res) return;
          socket.off('data', onData);
          client.response = res;
          client.buffer = Buffer.from(res.body);
          socket.on('data', (more: Buffer) => client.onData(more));
          client.onData(Buffer.alloc(0));
          resolve();
        };
        socket.on('data', onData);
        socket.once('close', () => reject(new Error('closed during the handshake')));
      }),
      2000,
      'the handshake',
    );
    assert.equal(client.response.status, 101, client.response.head);
    client.extensions = client.response.headers['sec-websocket-extensions'];
    if (client.extensions !== undefined) client.codec = new StreamCodec(agreementFrom(client.extensions));
    return client;
  }

  send(bytes: Buffer): void {
    this.socket.write(bytes);
  }

  /** Compress with our own persistent deflater (context as agreed) and send, in frames of `fragment` compressed bytes if given. */
  async sendCompressed(opcode: number, data: Buffer | string, fragment = 0): Promise<Buffer> {
    assert.ok(this.codec, 'no permessage-deflate agreed');
    const compressed = await this.codec.compress(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    if (fragment > 0 && compressed.length > fragment) {
      const parts: Buffer[] = [];
      for (let at = 0; at < compressed.length; at += fragment) {
        const end = Math.min(at + fragment, compressed.length);
        parts.push(frame({ opcode: at === 0 ? opcode : OP.CONT, payload: compressed.subarray(at, end), fin: end === compressed.length, rsv: at === 0 ? RSV1 : 0 }));
      }
      this.send(Buffer.concat(parts));
    } else {
      this.send(frame({ opcode, payload: compressed, rsv: RSV1 }));
    }
    return compressed;
  }

  async nextFrame(timeoutMs = 2000): Promise<DecodedFrame> {
    await this.waitFor(() => this.frames.length > 0 || this.tcpClosed, timeoutMs, 'a frame');
    const f = this.frames.shift();
    if (f === undefined) throw new Error('the server closed TCP instead of sending a frame');
    return f;
  }

  /** The next data message, inflated if RSV1 was set on its first frame. Control frames in between are skipped. */
  async nextMessage(timeoutMs = 2000): Promise<ReceivedMessage> {
    const frames: DecodedFrame[] = [];
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f.opcode >= 8) {
        if (f.opcode === OP.CLOSE) assert.fail(`expected a data message, got ${describeFrame(f)}`);
        continue;
      }
      assert.equal(f.masked, false, 'server frames are never masked (RFC 6455 §5.1)');
      if (frames.length > 0) assert.equal(f.rsv, 0, `RSV1 on a continuation frame (RFC 7692 §6): ${describeFrame(f)}`);
      frames.push(f);
      if (f.fin) break;
    }
    const compressed = frames[0].rsv === RSV1;
    assert.ok(frames[0].rsv === 0 || compressed, `unexpected RSV bits ${frames[0].rsv}`);
    const body = Buffer.concat(frames.map((f) => f.payload));
    let payload: Buffer = body;
    if (compressed) {
      assert.ok(this.codec, 'RSV1 without permessage-deflate agreed');
      payload = await this.codec.decompress(body);
    }
    return { opcode: frames[0].opcode, payload, compressed, frames };
  }

  /** The next frame is a close with `code`; answer it and wait for the server to drop TCP. */
  async expectClose(code: number, timeoutMs = 2000): Promise<string> {
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (f.opcode !== OP.CLOSE) {
        if (f.opcode >= 8) continue;
        assert.fail(`expected close ${code}, got ${describeFrame(f)}`);
      }
      assert.equal(f.rsv, 0, 'a close frame never has RSV bits');
      const body = parseClosePayload(f.payload);
      assert.equal(body.code, code, `expected close ${code}, got ${body.code} ${JSON.stringify(body.reason)}`);
      if (!this.socket.destroyed) this.send(closeFrame(code));
      await this.waitFor(() => this.tcpClosed, 3000, 'the server to close TCP');
      return body.reason;
    }
  }

  destroy(): void {
    this.codec?.close();
    this.socket.destroy();
  }

  private onData(chunk: Buffer): void {
    this.buffer = this.buffer.length === 0 ? chunk : Buffer.concat([this.buffer, chunk]);
    const { frames, rest } = decodeFrames(this.buffer);
    this.frames.push(...frames.map((f) => ({ ...f, payload: Buffer.from(f.payload) })));
    this.buffer = Buffer.from(rest);
    if (frames.length > 0) this.wake();
  }

  private wake(): void {
    for (const w of [...this.wakers]) w();
  }

  private waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil(this.wakers, predicate, timeoutMs, () => `timed out after ${timeoutMs} ms waiting for ${what}`);
  }
}

/** Servers started by a test file section, stopped in after(). */
function serverPool(): { start: (options: Partial<ServerOptions>) => Promise<TestServer>; stopAll: () => Promise<void> } {
  const servers: TestServer[] = [];
  return {
    async start(options) {
      const ts = await TestServer.start(options);
      servers.push(ts);
      return ts;
    },
    async stopAll() {
      await Promise.all(servers.splice(0).map((s) => s.stop()));
    },
  };
}

// ─── negotiation ────────────────────────────────────────────────────────────

describe('permessage-deflate negotiation on the wire (RFC 7692 §5, §7.1)', () => {
  const pool = serverPool();
  after(() => pool.stopAll());

  /** [offer, exact answer or null for "no Sec-WebSocket-Extensions"] against `perMessageDeflate: true`. */
  const DEFAULT_POLICY: ReadonlyArray<readonly [string, string | null]> = [
    ['permessage-deflate', 'permessage-deflate'],
    // Each parameter, with and without a value.
    ['permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; client_no_context_takeover', 'permessage-deflate'],
    ['permessage-deflate; server_max_window_bits=10', 'permessage-deflate; server_max_window_bits=10'],
    ['permessage-deflate; server_max_window_bits=8', 'permessage-deflate; server_max_window_bits=8'],
    ['permessage-deflate; server_max_window_bits=15', 'permessage-deflate; server_max_window_bits=15'],
    ['permessage-deflate; server_max_window_bits="12"', 'permessage-deflate; server_max_window_bits=12'],
    ['permessage-deflate; client_max_window_bits', 'permessage-deflate'],
    ['permessage-deflate; client_max_window_bits=9', 'permessage-deflate; client_max_window_bits=9'],
    ['permessage-deflate; client_max_window_bits=15', 'permessage-deflate; client_max_window_bits=15'],
    [
      'permessage-deflate; client_no_context_takeover; client_max_window_bits=12; server_no_context_takeover; server_max_window_bits=11',
      'permessage-deflate; server_no_context_takeover; server_max_window_bits=11; client_max_window_bits=12',
    ],
    // Autobahn's offers (13.x).
    ['permessage-deflate; client_no_context_takeover; client_max_window_bits', 'permessage-deflate'],
    ['permessage-deflate; client_no_context_takeover; client_max_window_bits; server_no_context_takeover; server_max_window_bits=8', 'permessage-deflate; server_no_context_takeover; server_max_window_bits=8'],
    // Several offers: the first acceptable one wins (§5).
    ['permessage-deflate; server_max_window_bits=10, permessage-deflate', 'permessage-deflate; server_max_window_bits=10'],
    ['x-webkit-deflate-frame, permessage-deflate; client_max_window_bits=10', 'permessage-deflate; client_max_window_bits=10'],
    ['permessage-deflate; foo, permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
    ['permessage-deflate; server_max_window_bits=16, permessage-deflate; server_max_window_bits=12', 'permessage-deflate; server_max_window_bits=12'],
    ['permessage-deflate; server_max_window_bits, permessage-deflate', 'permessage-deflate'],
    // Declined offers (§7.1: "MUST decline"), with nothing after them.
    ['permessage-deflate; foo', null],
    ['permessage-deflate; foo=bar', null],
    ['permessage-deflate; server_no_context_takeover; server_no_context_takeover', null],
    ['permessage-deflate; client_max_window_bits=10; client_max_window_bits=10', null],
    ['permessage-deflate; server_max_window_bits', null],
    ['permessage-deflate; server_max_window_bits=7', null],
    ['permessage-deflate; server_max_window_bits=16', null],
    ['permessage-deflate; server_max_window_bits=08', null],
    ['permessage-deflate; server_max_window_bits=-9', null],
    ['permessage-deflate; client_max_window_bits=abc', null],
    ['permessage-deflate; client_max_window_bits=7', null],
    ['permessage-deflate; server_no_context_takeover=1', null],
    ['permessage-deflate; client_no_context_takeover=true', null],
    ['x-webkit-deflate-frame', null],
    ['deflate-frame; no_context_takeover', null],
  ];

  let deflateOn: TestServer;
  before(async () => {
    deflateOn = await pool.start({ perMessageDeflate: true });
  });

  for (const [offer, answer] of DEFAULT_POLICY) {
    it(`${JSON.stringify(offer)} → ${answer === null ? 'no extension' : JSON.stringify(answer)}`, async () => {
      const res = await handshake(deflateOn.port, offer);
      assert.equal(res.status, 101, res.head);
      assert.equal(res.headers['sec-websocket-extensions'], answer ?? undefined, res.head);
    });
  }

  it('no Sec-WebSocket-Extensions header → no extension', async () => {
    const res = await handshake(deflateOn.port, null);
    assert.equal(res.status, 101);
    assert.equal(res.headers['sec-websocket-extensions'], undefined);
  });

  it('offers spread over two header lines are one list (the first line declined, the second accepted)', async () => {
    const res = await handshake(deflateOn.port, ['permessage-deflate; foo', 'permessage-deflate; server_max_window_bits=9']);
    assert.equal(res.status, 101, res.head);
    assert.equal(res.headers['sec-websocket-extensions'], 'permessage-deflate; server_max_window_bits=9');
  });

  const MALFORMED = [
    'permessage-deflate;',
    ';permessage-deflate',
    'permessage-deflate; server_max_window_bits=',
    'permessage-deflate; server_max_window_bits="10',
    'permessage-deflate; server_max_window_bits="1 0"',
    'permessage-deflate; a=b=c',
    'permessage-deflate server_no_context_takeover',
    '"permessage-deflate"',
    'permessage-deflate; =10',
  ];
  for (const header of MALFORMED) {
    it(`malformed header ${JSON.stringify(header)} → 400`, async () => {
      const res = await handshake(deflateOn.port, header);
      assert.equal(res.status, 400, res.head);
      assert.equal(res.headers['sec-websocket-extensions'], undefined);
    });
  }

  /** [policy, offer, answer]. */
  const POLICIES: ReadonlyArray<readonly [DeflatePolicy, string, string | null]> = [
    [{ serverNoContextTakeover: true }, 'permessage-deflate', 'permessage-deflate; server_no_context_takeover'],
    [{ serverNoContextTakeover: true }, 'permessage-deflate; server_no_context_takeover', 'permessage-deflate; server_no_context_takeover'],
    [{ clientNoContextTakeover: true }, 'permessage-deflate', 'permessage-deflate; client_no_context_takeover'],
    [{ clientNoContextTakeover: true }, 'permessage-deflate; client_no_context_takeover', 'permessage-deflate; client_no_context_takeover'],
    // serverMaxWindowBits: our own limit, answered unasked, and never above what was offered.
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate', 'permessage-deflate; server_max_window_bits=10'],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=12', 'permessage-deflate; server_max_window_bits=10'],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=9', 'permessage-deflate; server_max_window_bits=9'],
    [{ serverMaxWindowBits: 8 }, 'permessage-deflate; server_max_window_bits=15', 'permessage-deflate; server_max_window_bits=8'],
    // clientMaxWindowBits: only when the client offered the parameter (§7.1.2.2).
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate', 'permessage-deflate'],
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits', 'permessage-deflate; client_max_window_bits=10'],
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=12', 'permessage-deflate; client_max_window_bits=10'],
    [{ clientMaxWindowBits: 10 }, 'permessage-deflate; client_max_window_bits=9', 'permessage-deflate; client_max_window_bits=9'],
    [
      { serverNoContextTakeover: true, clientNoContextTakeover: true, serverMaxWindowBits: 12, clientMaxWindowBits: 11 },
      'permessage-deflate; client_max_window_bits',
      'permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=12; client_max_window_bits=11',
    ],
    [{ serverMaxWindowBits: 10 }, 'permessage-deflate; server_max_window_bits=7', null],
  ];
  for (const [policy, offer, answer] of POLICIES) {
    it(`policy ${JSON.stringify(policy)}: ${JSON.stringify(offer)} → ${answer === null ? 'no extension' : JSON.stringify(answer)}`, async () => {
      const ts = await pool.start({ perMessageDeflate: policy });
      const res = await handshake(ts.port, offer);
      assert.equal(res.status, 101, res.head);
      assert.equal(res.headers['sec-websocket-extensions'], answer ?? undefined, res.head);
    });
  }

  it('a server without perMessageDeflate never answers the extension', async () => {
    const plain = await pool.start({});
    for (const offer of ['permessage-deflate', 'permessage-deflate; server_no_context_takeover; client_max_window_bits', 'permessage-deflate; server_max_window_bits=10, permessage-deflate']) {
      const res = await handshake(plain.port, offer);
      assert.equal(res.status, 101, res.head);
      assert.equal(res.headers['sec-websocket-extensions'], undefined, `${offer}:\n${res.head}`);
    }
    const off = await pool.start({ perMessageDeflate: false });
    const res = await handshake(off.port, 'permessage-deflate');
    assert.equal(res.headers['sec-websocket-extensions'], undefined);
  });
});

// ─── round trips with ws ────────────────────────────────────────────────────

describe('round trips with the ws client (permessage-deflate on both sides)', () => {
  const pool = serverPool();
  after(() => pool.stopAll());

  const small = chatMessages(60, 7);
  const large: Array<{ data: Buffer | string; binary: boolean }> = [
    { data: testData('json_data1').toString('latin1'), binary: false }, // 190 KiB of text
    { data: testData('lena512'), binary: true }, // 257 KiB of picture
    { data: seededBytes(100 * 1024, 3), binary: true }, // incompressible
  ];

  /**
   * Send everything at once (pipelined: the server's codec sees messages back
   * to back), then check every echo, in order, byte for byte.
   */
  async function roundTrip(port: number, wsOptions: NonNullable<WebSocket.ClientOptions['perMessageDeflate']>, expectedExtensions: string): Promise<void> {
    const ws = new WebSocket(`ws://127.0.0.1:${port}`, { perMessageDeflate: wsOptions });
    let agreed: string | undefined;
    ws.on('upgrade', (res) => {
      agreed = res.headers['sec-websocket-extensions'];
    });
    const received: Array<{ data: Buffer; binary: boolean }> = [];
    ws.on('message', (data: Buffer, binary: boolean) => received.push({ data, binary }));
    try {
      await once(ws, 'open');
      assert.equal(agreed, expectedExtensions);
      const sent: Array<{ data: Buffer; binary: boolean }> = [];
      small.forEach((m, i) => {
        const binary = i % 3 === 2;
        ws.send(binary ? Buffer.from(m) : m, { binary });
        sent.push({ data: Buffer.from(m), binary });
      });
      for (const m of large) {
        ws.send(m.data, { binary: m.binary });
        sent.push({ data: typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : m.data, binary: m.binary });
      }
      const deadline = Date.now() + 10_000;
      while (received.length < sent.length && Date.now() < deadline && ws.readyState === WebSocket.OPEN) await delay(5);
      assert.equal(received.length, sent.length, `echoes received ${received.length}/${sent.length}, ws state ${ws.readyState}`);
      for (let i = 0; i < sent.length; i++) {
        assert.equal(received[i].binary, sent[i].binary, `message ${i}: type`);
        assert.ok(received[i].data.equals(sent[i].data), `message ${i} (${sent[i].data.length} B) differs`);
      }
      ws.close(1000);
      const [code] = (await once(ws, 'close')) as [number];
      assert.equal(code, 1000);
    } finally {
      ws.terminate();
    }
  }

  for (let bits = 8; bits <= 15; bits++) {
    for (const serverNct of [false, true]) {
      for (const clientNct of [false, true]) {
        const label = `window ${bits}, server ${serverNct ? 'no ' : ''}context takeover, client ${clientNct ? 'no ' : ''}context takeover`;
        it(`server policy: ${label}`, async () => {
          const ts = await pool.start({
            perMessageDeflate: { serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: serverNct, clientNoContextTakeover: clientNct },
          });
          let expected = 'permessage-deflate';
          if (serverNct) expected += '; server_no_context_takeover';
          if (clientNct) expected += '; client_no_context_takeover';
          // 15 is the default: not worth saying unasked.
          if (bits < 15) expected += `; server_max_window_bits=${bits}; client_max_window_bits=${bits}`;
          // ws offers client_max_window_bits (no value) and keeps context unless told otherwise; threshold 0: it compresses everything.
          await roundTrip(ts.port, { threshold: 0 }, expected);
        });
      }
    }
    for (const serverNct of [false, true]) {
      it(`client offer: server_max_window_bits=${bits}${serverNct ? ', server_no_context_takeover' : ''}, client_max_window_bits=${bits}`, async () => {
        const ts = await pool.start({ perMessageDeflate: true });
        let expected = 'permessage-deflate';
        if (serverNct) expected += '; server_no_context_takeover';
        expected += `; server_max_window_bits=${bits}; client_max_window_bits=${bits}`;
        await roundTrip(ts.port, { threshold: 0, serverMaxWindowBits: bits, clientMaxWindowBits: bits, serverNoContextTakeover: serverNct }, expected);
      });
    }
  }
});

// ─── what goes over the wire ───────────────────────────────────────────────

describe('frames on the wire, sniffed by a hand-made client', () => {
  const pool = serverPool();
  const clients = new Set<DeflateClient>();
  after(async () => {
    for (const c of clients) c.destroy();
    await pool.stopAll();
  });
  async function connect(port: number, offer: string | null = 'permessage-deflate'): Promise<DeflateClient> {
    const c = await DeflateClient.connect(port, offer);
    clients.add(c);
    return c;
  }

  let server: TestServer; // default policy: threshold 1024
  before(async () => {
    server = await pool.start({ perMessageDeflate: true });
  });

  it('RSV1 is set on what we send at and above the threshold (1024 B by default) and clear below it', async () => {
    const c = await connect(server.port);
    const cases: Array<[string, Buffer | string, boolean]> = [
      ['empty text', '', false],
      ['1 B text', 'x', false],
      ['1023 B text', 'a'.repeat(1023), false],
      ['1024 B text', 'a'.repeat(1024), true],
      ['1023 B of UTF-8 text (341 × €)', '€'.repeat(341), false],
      ['1026 B of UTF-8 text (342 × €) that is 342 UTF-16 units', '€'.repeat(342), true],
      ['1023 B binary', Buffer.alloc(1023, 7), false],
      ['1024 B binary', Buffer.alloc(1024, 7), true],
      ['64 KiB JSON', testData('json_data1').subarray(0, 65536).toString('latin1'), true],
      ['100 KiB random binary', seededBytes(100 * 1024, 11), true],
    ];
    for (const [i, [what, data, compressed]] of cases.entries()) {
      const opcode = typeof data === 'string' ? OP.TEXT : OP.BINARY;
      // Every other one goes in compressed: whether the echo is depends on its size only.
      if (i % 2 === 0) await c.sendCompressed(opcode, data);
      else c.send(frame({ opcode, payload: data }));
      const m = await c.nextMessage();
      const expected = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
      assert.equal(m.opcode, opcode, what);
      assert.equal(m.compressed, compressed, `${what}: RSV1 ${m.compressed ? 'set' : 'clear'} (frame ${describeFrame(m.frames[0])})`);
      assert.ok(m.payload.equals(expected), `${what}: echo differs`);
      assert.equal(m.frames.length, 1, `${what}: one frame`);
    }
    c.send(closeFrame(1000));
    await c.expectClose(1000);
  });

  it('a custom threshold: below it plain, at it compressed; threshold 0 compresses even empty messages', async () => {
    const t100 = await pool.start({ perMessageDeflate: { threshold: 100 } });
    const c = await connect(t100.port);
    for (const [size, compressed] of [[99, false], [100, true], [5000, true]] as const) {
      c.send(frame({ opcode: OP.BINARY, payload: Buffer.alloc(size, 1) }));
      const m = await c.nextMessage();
      assert.equal(m.compressed, compressed, `${size} B`);
      assert.equal(m.payload.length, size);
    }
    const t0 = await pool.start({ perMessageDeflate: { threshold: 0 } });
    const z = await connect(t0.port);
    for (const data of ['', 'a', 'hello']) {
      z.send(frame({ opcode: OP.TEXT, payload: data }));
      const m = await z.nextMessage();
      assert.equal(m.compressed, true, `${JSON.stringify(data)} compressed with threshold 0`);
      assert.equal(m.payload.toString('utf8'), data);
    }
  });

  it('messages compressed by ws are inflated by us, and ours by ws (threshold 0 on both sides)', async () => {
    const t0 = await pool.start({ perMessageDeflate: { threshold: 0 } });
    const ws = new WebSocket(`ws://127.0.0.1:${t0.port}`, { perMessageDeflate: { threshold: 0 } });
    try {
      await once(ws, 'open');
      for (const m of ['', 'x', ...chatMessages(20, 3)]) {
        ws.send(m);
        const [data, binary] = (await once(ws, 'message')) as [Buffer, boolean];
        assert.equal(binary, false);
        assert.equal(data.toString('utf8'), m);
      }
    } finally {
      ws.terminate();
    }
  });

  it('context takeover: a repeated message comes back much smaller the second time, and inflates with the previous window', async () => {
    const c = await connect(server.port);
    const message = chatMessages(40, 5).join('\n').slice(0, 3000);
    const echoes: Buffer[] = [];
    for (let i = 0; i < 4; i++) {
      const sent = await c.sendCompressed(OP.TEXT, message);
      if (i > 0) assert.ok(sent.length < 100, `our own deflater keeps its context: ${sent.length} B`);
      const m = await c.nextMessage();
      assert.ok(m.compressed);
      assert.equal(m.payload.toString('utf8'), message);
      echoes.push(m.frames[0].payload);
    }
    const sizes = echoes.map((e) => e.length);
    assert.ok(sizes[1] < sizes[0] / 4, `the server compresses with context: ${sizes.join(', ')} B`);
    // Without the earlier messages, the second echo cannot be read: it refers back into the first.
    let alone: Buffer | undefined;
    try {
      alone = inflateRawSync(Buffer.concat([echoes[1], SYNC_TAIL]), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
    } catch {
      alone = undefined;
    }
    assert.notEqual(alone?.toString('utf8'), message);
  });

  it('server_no_context_takeover: every message inflates on its own', async () => {
    const c = await connect(server.port, 'permessage-deflate; server_no_context_takeover');
    assert.equal(c.extensions, 'permessage-deflate; server_no_context_takeover');
    const message = chatMessages(40, 9).join('\n').slice(0, 4000);
    for (let i = 0; i < 4; i++) {
      await c.sendCompressed(OP.TEXT, message);
      const m = await c.nextMessage();
      assert.ok(m.compressed);
      // A fresh one-shot inflater reads it: no reference to an earlier message.
      const alone = inflateRawSync(Buffer.concat([m.frames[0].payload, SYNC_TAIL]), { finishFlush: zlibConstants.Z_SYNC_FLUSH });
      assert.equal(alone.toString('utf8'), message);
    }
  });

  for (const bits of [8, 9, 10, 12]) {
    it(`server_max_window_bits=${bits}: what we send inflates with a ${1 << bits}-byte window`, async () => {
      const c = await connect(server.port, `permessage-deflate; server_max_window_bits=${bits}`);
      assert.equal(c.extensions, `permessage-deflate; server_max_window_bits=${bits}`);
      // The codec inflates with exactly the agreed window: any match reaching further fails.
      for (let i = 0; i < 5; i++) {
        const data = testData('json_data1').subarray(i * 20000, i * 20000 + 20000);
        c.send(frame({ opcode: OP.TEXT, payload: data }));
        const m = await c.nextMessage();
        assert.ok(m.compressed);
        assert.ok(m.payload.equals(data), `message ${i}`);
      }
    });
  }

  it('client_no_context_takeover policy: the client may reset its context, and the echo is right', async () => {
    const ts = await pool.start({ perMessageDeflate: { clientNoContextTakeover: true } });
    const c = await connect(ts.port, 'permessage-deflate; client_no_context_takeover');
    assert.equal(c.extensions, 'permessage-deflate; client_no_context_takeover');
    const message = 'the same message again and again '.repeat(50);
    for (let i = 0; i < 3; i++) {
      c.send(frame({ opcode: OP.TEXT, payload: compressOnce(message), rsv: RSV1 }));
      const m = await c.nextMessage();
      assert.equal(m.payload.toString('utf8'), message);
    }
  });

  it('client context takeover: a message that refers back into earlier ones is inflated with their window', async () => {
    const c = await connect(server.port);
    const data = testData('html_data1');
    for (let i = 0; i < 12; i++) {
      const piece = data.subarray(i * 9000, i * 9000 + 9000);
      const sent = await c.sendCompressed(OP.TEXT, piece);
      assert.ok(sent.length > 0);
      const m = await c.nextMessage();
      assert.ok(m.payload.equals(piece), `message ${i}`);
    }
  });
});

// ─── fragmentation and the RSV1 rules ──────────────────────────────────────

describe('fragmented compressed messages and RSV1 rules (RFC 7692 §6)', () => {
  const pool = serverPool();
  const clients = new Set<DeflateClient>();
  after(async () => {
    for (const c of clients) c.destroy();
    await pool.stopAll();
  });
  let server: TestServer;
  before(async () => {
    server = await pool.start({ perMessageDeflate: true });
  });
  async function connect(offer: string | null = 'permessage-deflate', port = server.port): Promise<DeflateClient> {
    const c = await DeflateClient.connect(port, offer);
    clients.add(c);
    return c;
  }

  for (const fragment of [1, 7, 256, 4096]) {
    it(`a compressed message in frames of ${fragment} B (RSV1 on the first only) is echoed`, async () => {
      const c = await connect();
      const text = testData('json_data1').subarray(0, fragment === 1 ? 3000 : 40000).toString('latin1');
      await c.sendCompressed(OP.TEXT, text, fragment);
      const m = await c.nextMessage(5000);
      assert.equal(m.opcode, OP.TEXT);
      assert.equal(m.payload.toString('latin1'), text);
      const bin = testData('lena512').subarray(1078, 1078 + 30000);
      await c.sendCompressed(OP.BINARY, bin, fragment * 3);
      const b = await c.nextMessage(5000);
      assert.equal(b.opcode, OP.BINARY);
      assert.ok(b.payload.equals(bin));
    });
  }

  it('a ping between the fragments of a compressed message is answered, and the message echoed', async () => {
    const c = await connect();
    const compressed = compressOnce('ping in the middle '.repeat(200));
    const mid = compressed.length >> 1;
    c.send(frame({ opcode: OP.TEXT, payload: compressed.subarray(0, mid), fin: false, rsv: RSV1 }));
    c.send(frame({ opcode: OP.PING, payload: 'hi' }));
    const pong = await c.nextFrame();
    assert.equal(pong.opcode, OP.PONG);
    assert.equal(pong.payload.toString(), 'hi');
    assert.equal(pong.rsv, 0);
    c.send(frame({ opcode: OP.CONT, payload: compressed.subarray(mid), rsv: 0 }));
    const m = await c.nextMessage();
    assert.equal(m.payload.toString(), 'ping in the middle '.repeat(200));
  });

  it('an uncompressed fragmented message is still fine with deflate agreed', async () => {
    const c = await connect();
    c.send(Buffer.concat([frame({ opcode: OP.TEXT, payload: 'plain ', fin: false }), frame({ opcode: OP.CONT, payload: 'text' })]));
    const m = await c.nextMessage();
    assert.equal(m.payload.toString(), 'plain text');
  });

  it('RSV1 on a continuation frame → 1002', async () => {
    const c = await connect();
    const compressed = compressOnce('abc'.repeat(100));
    c.send(frame({ opcode: OP.TEXT, payload: compressed.subarray(0, 5), fin: false, rsv: RSV1 }));
    c.send(frame({ opcode: OP.CONT, payload: compressed.subarray(5), rsv: RSV1 }));
    await c.expectClose(1002);
  });

  it('RSV1 on a continuation of an uncompressed message → 1002', async () => {
    const c = await connect();
    c.send(frame({ opcode: OP.BINARY, payload: 'ab', fin: false }));
    c.send(frame({ opcode: OP.CONT, payload: compressOnce('cd'), rsv: RSV1 }));
    await c.expectClose(1002);
  });

  for (const [name, opcode] of [['ping', OP.PING], ['pong', OP.PONG], ['close', OP.CLOSE]] as const) {
    it(`RSV1 on a ${name} frame → 1002`, async () => {
      const c = await connect();
      c.send(frame({ opcode, payload: opcode === OP.CLOSE ? Buffer.from([0x03, 0xe8]) : 'x', rsv: RSV1 }));
      await c.expectClose(1002);
    });
  }

  for (const [name, rsv] of [['RSV2', RSV2], ['RSV3', RSV3], ['RSV1|RSV2', RSV1 | RSV2]] as const) {
    it(`${name} on a data frame with deflate agreed → 1002`, async () => {
      const c = await connect();
      c.send(frame({ opcode: OP.TEXT, payload: compressOnce('hello'), rsv }));
      await c.expectClose(1002);
    });
  }

  it('RSV1 without negotiation → 1002 (deflate enabled on the server, not offered by the client)', async () => {
    const c = await connect(null);
    assert.equal(c.extensions, undefined);
    c.send(frame({ opcode: OP.TEXT, payload: compressOnce('hello'), rsv: RSV1 }));
    await c.expectClose(1002);
  });

  it('RSV1 without negotiation → 1002 (offer declined)', async () => {
    const c = await connect('permessage-deflate; server_max_window_bits=7');
    assert.equal(c.extensions, undefined);
    c.send(frame({ opcode: OP.BINARY, payload: compressOnce('hello'), rsv: RSV1 }));
    await c.expectClose(1002);
  });

  it('RSV1 on a server without perMessageDeflate → 1002', async () => {
    const plain = await pool.start({});
    const c = await connect('permessage-deflate', plain.port);
    assert.equal(c.extensions, undefined);
    c.send(frame({ opcode: OP.TEXT, payload: compressOnce('hello'), rsv: RSV1 }));
    await c.expectClose(1002);
  });
});

// ─── bombs and corrupt data ─────────────────────────────────────────────────

/**
 * Raw deflate data for `mib` MiB of zeros, built without ever holding them:
 * a 1 MiB block compressed with a full flush (it refers to nothing before
 * it) is repeated. Each copy is about 1 KiB, the best deflate can do (258
 * bytes per 2 bits or so).
 */
function zeroBomb(mib: number): Buffer {
  const block = deflateRawSync(Buffer.alloc(1024 * 1024), { level: 9, finishFlush: zlibConstants.Z_FULL_FLUSH });
  return Buffer.concat(Array.from({ length: mib }, () => block));
}

/** Streamed deflate of `mib` MiB of zeros in one context (smaller than zeroBomb, slower to build). */
async function streamedZeroBomb(mib: number): Promise<Buffer> {
  const deflate = createDeflateRaw({ level: 9 });
  const chunks: Buffer[] = [];
  deflate.on('data', (c: Buffer) => chunks.push(c));
  const zeros = Buffer.alloc(1024 * 1024);
  for (let i = 0; i < mib; i++) {
    if (!deflate.write(zeros)) await once(deflate, 'drain');
  }
  await new Promise<void>((resolve) => deflate.flush(zlibConstants.Z_SYNC_FLUSH, () => resolve()));
  deflate.close();
  const out = Buffer.concat(chunks);
  return out.subarray(0, out.length - 4);
}

describe('decompression bombs and corrupt compressed data', () => {
  const pool = serverPool();
  const clients = new Set<DeflateClient>();
  after(async () => {
    for (const c of clients) c.destroy();
    await pool.stopAll();
  });
  let server: TestServer;
  before(async () => {
    server = await pool.start({ perMessageDeflate: true, maxMessageSize: 1024 * 1024 });
  });
  async function connect(): Promise<DeflateClient> {
    const c = await DeflateClient.connect(server.port, 'permessage-deflate');
    clients.add(c);
    return c;
  }

  /** Send `frames`, expect 1009 within `withinMs`, and return the memory growth seen meanwhile. */
  async function expectBombStopped(frames: Buffer[], withinMs: number): Promise<{ rss: number; arrayBuffers: number; ms: number }> {
    const c = await connect();
    global.gc?.();
    const before = process.memoryUsage();
    let peak = { rss: before.rss, arrayBuffers: before.arrayBuffers };
    const sampler = setInterval(() => {
      const m = process.memoryUsage();
      peak = { rss: Math.max(peak.rss, m.rss), arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers) };
    }, 2);
    const started = Date.now();
    try {
      for (const f of frames) c.send(f);
      await c.expectClose(1009, withinMs);
    } finally {
      clearInterval(sampler);
    }
    const m = process.memoryUsage();
    peak = { rss: Math.max(peak.rss, m.rss), arrayBuffers: Math.max(peak.arrayBuffers, m.arrayBuffers) };
    return { rss: peak.rss - before.rss, arrayBuffers: peak.arrayBuffers - before.arrayBuffers, ms: Date.now() - started };
  }

  const MiB = 1024 * 1024;
  const report = (bytes: number, seen: { rss: number; arrayBuffers: number; ms: number }): string =>
    `${bytes} B of deflate data: closed with 1009 after ${seen.ms} ms; rss +${(seen.rss / MiB).toFixed(1)} MiB, arrayBuffers +${(seen.arrayBuffers / MiB).toFixed(1)} MiB`;

  it('64 KiB of deflate data that inflates to 64 MiB → 1009 at once, memory flat', async (t) => {
    const bomb = await streamedZeroBomb(64);
    assert.ok(bomb.length < 80 * 1024, `bomb is ${bomb.length} B`);
    const seen = await expectBombStopped([frame({ opcode: OP.BINARY, payload: bomb, rsv: RSV1 })], 2000);
    t.diagnostic(report(bomb.length, seen));
    assert.ok(seen.rss < 40 * MiB, `rss grew by ${(seen.rss / MiB).toFixed(1)} MiB`);
    assert.ok(seen.arrayBuffers < 40 * MiB, `arrayBuffers grew by ${(seen.arrayBuffers / MiB).toFixed(1)} MiB`);
  });

  it('a single frame of just under 1 MiB that inflates to 1000 MiB → 1009 at once, memory flat', async (t) => {
    const bomb = zeroBomb(1000);
    assert.ok(bomb.length < MiB, `bomb is ${bomb.length} B, it must fit the 1 MiB frame limit`);
    const seen = await expectBombStopped([frame({ opcode: OP.TEXT, payload: bomb, rsv: RSV1 })], 3000);
    t.diagnostic(report(bomb.length, seen));
    assert.ok(seen.ms < 3000, `took ${seen.ms} ms`);
    assert.ok(seen.rss < 48 * MiB, `rss grew by ${(seen.rss / MiB).toFixed(1)} MiB`);
    assert.ok(seen.arrayBuffers < 48 * MiB, `arrayBuffers grew by ${(seen.arrayBuffers / MiB).toFixed(1)} MiB`);
  });

  it('the same bomb in 100 fragments → 1009, memory flat', async (t) => {
    const bomb = zeroBomb(900);
    const step = Math.ceil(bomb.length / 100);
    const frames: Buffer[] = [];
    for (let at = 0; at < bomb.length; at += step) {
      const end = Math.min(at + step, bomb.length);
      frames.push(frame({ opcode: at === 0 ? OP.BINARY : OP.CONT, payload: bomb.subarray(at, end), fin: end === bomb.length, rsv: at === 0 ? RSV1 : 0 }));
    }
    const seen = await expectBombStopped(frames, 3000);
    t.diagnostic(report(bomb.length, seen));
    assert.ok(seen.rss < 48 * MiB, `rss grew by ${(seen.rss / MiB).toFixed(1)} MiB`);
  });

  it('a message that inflates to exactly the limit is delivered; one byte more → 1009', async () => {
    const c = await connect();
    const exact = Buffer.alloc(MiB, 0x61);
    c.send(frame({ opcode: OP.BINARY, payload: compressOnce(exact), rsv: RSV1 }));
    const m = await c.nextMessage(5000);
    assert.ok(m.payload.equals(exact));
    c.send(frame({ opcode: OP.BINARY, payload: compressOnce(Buffer.alloc(MiB + 1, 0x61)), rsv: RSV1 }));
    await c.expectClose(1009);
  });

  const CORRUPT: ReadonlyArray<readonly [string, Buffer]> = [
    ['reserved block type 3', Buffer.from([0xff, 0xff, 0xff, 0xff])],
    ['a stored block whose LEN and NLEN disagree', Buffer.from([0x00, 0x05, 0x00, 0x05, 0x00, 0x61, 0x62, 0x63, 0x64, 0x65])],
    // Fixed Huffman block (BTYPE 01): first symbol a match (length 3, code 257) at distance 1, with nothing before it.
    ['a match before any data', Buffer.from([0x02, 0x02, 0x00])],
  ];
  for (const [what, payload] of CORRUPT) {
    it(`corrupt deflate data (${what}) → 1007`, async () => {
      const c = await connect();
      c.send(frame({ opcode: OP.BINARY, payload, rsv: RSV1 }));
      await c.expectClose(1007);
    });
  }

  it('a reference to a window the server never saw (client claims context from nowhere) → 1007', async () => {
    const c = await connect();
    // Compressed with a preset dictionary the server does not have: the first match points before the message.
    const dictionary = Buffer.from('the quick brown fox jumps over the lazy dog '.repeat(10));
    const data = deflateRawSync(Buffer.from('the quick brown fox jumps over the lazy dog'), { dictionary, finishFlush: zlibConstants.Z_SYNC_FLUSH }).subarray(0, -4);
    c.send(frame({ opcode: OP.TEXT, payload: data, rsv: RSV1 }));
    await c.expectClose(1007);
  });

  it('compressed text that inflates to invalid UTF-8 → 1007', async () => {
    const c = await connect();
    c.send(frame({ opcode: OP.TEXT, payload: compressOnce(Buffer.from([0x68, 0x69, 0xc3, 0x28])), rsv: RSV1 }));
    await c.expectClose(1007);
  });

  it('the server still serves new connections after all that', async () => {
    const c = await connect();
    await c.sendCompressed(OP.TEXT, 'still alive');
    const m = await c.nextMessage();
    assert.equal(m.payload.toString(), 'still alive');
    c.send(closeFrame(1000));
    await c.expectClose(1000);
  });
});

// ─── server options ─────────────────────────────────────────────────────────

describe('permessage-deflate server options', () => {
  const pool = serverPool();
  after(() => pool.stopAll());

  // zlib refuses a maxOutputLength above buffer.constants.MAX_LENGTH (Infinity included) with a RangeError; the
  // codec caps it there (inflateOptions), so a compressed message is not taken for corrupt data (1007) when the
  // message limit is off or huge.
  for (const maxMessageSize of [Infinity, 2 ** 33]) {
    it(`maxMessageSize ${maxMessageSize} (no practical limit) still inflates compressed messages`, async () => {
      const ts = await pool.start({ perMessageDeflate: true, maxMessageSize });
      const c = await DeflateClient.connect(ts.port);
      try {
        await c.sendCompressed(OP.TEXT, 'compressed, with a huge message limit');
        const first = await c.nextFrame();
        assert.equal(first.opcode, OP.TEXT, `expected the echo, got ${describeFrame(first)}`);
      } finally {
        c.destroy();
      }
    });
  }

  // RFC 7692 §7.1.2: window sizes are 8 to 15; zlib takes levels −1 to 9 and memLevel 1 to 9. A policy outside
  // is refused when the server is created (src/options/), so it can neither be answered on the wire
  // (`server_max_window_bits=7`, which every client must reject) nor make every compressed send() throw.
  const BAD_POLICIES: Array<[policy: DeflatePolicy, message: string]> = [
    [{ serverMaxWindowBits: 7 }, 'perMessageDeflate.serverMaxWindowBits must be a whole number from 8 to 15 (bits), got 7'],
    [{ serverMaxWindowBits: 9.5 }, 'perMessageDeflate.serverMaxWindowBits must be a whole number from 8 to 15 (bits), got 9.5'],
    [{ clientMaxWindowBits: 7 }, 'perMessageDeflate.clientMaxWindowBits must be a whole number from 8 to 15 (bits), got 7'],
    [{ clientMaxWindowBits: 16 }, 'perMessageDeflate.clientMaxWindowBits must be a whole number from 8 to 15 (bits), got 16'],
    [{ level: 12 }, 'perMessageDeflate.level must be a whole number from -1 to 9, got 12'],
    [{ memLevel: 0 }, 'perMessageDeflate.memLevel must be a whole number from 1 to 9, got 0'],
  ];
  for (const [policy, message] of BAD_POLICIES) {
    it(`policy ${JSON.stringify(policy)}: refused at createServer() with WS_ERR_INVALID_OPTION`, async () => {
      await assert.rejects(pool.start({ perMessageDeflate: policy }), { name: 'LocalError', code: 'WS_ERR_INVALID_OPTION', message });
    });
  }

  it('the edge values of the same options are accepted and answered as given', async () => {
    const ts = await pool.start({ perMessageDeflate: { serverMaxWindowBits: 8, clientMaxWindowBits: 8, level: 9, memLevel: 9 } });
    const res = await handshake(ts.port, 'permessage-deflate; client_max_window_bits');
    assert.equal(res.headers['sec-websocket-extensions'], 'permessage-deflate; server_max_window_bits=8; client_max_window_bits=8');
    const c = await DeflateClient.connect(ts.port, 'permessage-deflate; client_max_window_bits=8');
    try {
      await c.sendCompressed(OP.TEXT, 'z'.repeat(4000));
      const m = await c.nextMessage(1000);
      assert.ok(m.compressed, 'the echo is compressed');
      assert.equal(m.payload.toString(), 'z'.repeat(4000));
      assert.deepEqual(ts.handlerErrors, []);
    } finally {
      c.destroy();
    }
  });

  // An option given as undefined takes its default (it once overrode it: `Math.min(undefined, 12)` answered
  // `server_max_window_bits=NaN`, and an incoming window of `1 << NaN` = 1 byte failed a client keeping its
  // context with 1007).
  it('options given as undefined behave as the defaults', async () => {
    const ts = await pool.start({ perMessageDeflate: { serverMaxWindowBits: undefined, clientMaxWindowBits: undefined, threshold: undefined } });
    const res = await handshake(ts.port, 'permessage-deflate; server_max_window_bits=12; client_max_window_bits');
    assert.equal(res.headers['sec-websocket-extensions'], 'permessage-deflate; server_max_window_bits=12');
    const ws = new WebSocket(`ws://127.0.0.1:${ts.port}`, { perMessageDeflate: { threshold: 0 } });
    try {
      await once(ws, 'open');
      const text = 'context takeover across messages '.repeat(40);
      for (let i = 0; i < 3; i++) {
        ws.send(text);
        const [data] = (await withTimeout(once(ws, 'message'), 2000, `echo ${i}`)) as [Buffer];
        assert.equal(data.toString(), text);
      }
    } finally {
      ws.terminate();
    }
  });
});
