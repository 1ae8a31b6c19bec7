/**
 * A WebSocket client made of bare node:net and hand-built bytes, for
 * end-to-end conformance tests. It does the opening handshake itself
 * (RFC 6455 §4.1), checks the server's answer (§4.2.2), and then lets a test
 * write any bytes at all (lying frames, garbage, one byte per TCP write) and
 * read back what the server sent, frame by frame.
 *
 * It also watches the server: every frame it receives must be unmasked (§5.1),
 * carry no RSV bits (no extension is negotiated, §5.2), use a defined opcode,
 * and follow the control-frame rules (§5.5). A violation fails the next read.
 *
 * At the bottom, `TestServer` starts our server with an echo handler and keeps
 * track of the clients a test opens, so every test can clean up after itself.
 */
import assert from 'node:assert/strict';
import { isUtf8 } from 'node:buffer';
import { createHash, randomBytes } from 'node:crypto';
import net from 'node:net';
import { setTimeout as delay } from 'node:timers/promises';

import { createServer } from '../../src/index.js';
import {
  OP,
  close as closeFrame,
  describeFrame,
  decodeFrames,
  frameSize,
  parseClosePayload,
  text as textFrame,
  type ClosePayload,
  type DecodedFrame,
} from './frames.js';
import { waitUntil } from './wait-until.js';

/** §1.3 / §4.2.2: the GUID appended to the client's key before hashing. */
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** §4.2.2 item 5.4: base64(SHA-1(key + GUID)). */
export function acceptFor(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

// ─── HTTP response parsing ──────────────────────────────────────────────────

export interface HttpResponse {
  statusLine: string;
  status: number;
  /** Lower-cased names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** The head, up to and including the blank line, as text. */
  head: string;
  /** Whatever followed the head in the bytes received so far. */
  body: Buffer;
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** Parse an HTTP/1.1 response head out of `buf`, or undefined if it is incomplete. */
export function parseHttpResponse(buf: Buffer): HttpResponse | undefined {
  const end = buf.indexOf(HEAD_END);
  if (end < 0) return undefined;
  const head = buf.subarray(0, end + 4).toString('latin1');
  const [statusLine, ...lines] = head.slice(0, -4).split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  assert.ok(match, `malformed HTTP status line: ${JSON.stringify(statusLine)}`);
  const headers: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const line of lines) {
    const colon = line.indexOf(':');
    assert.ok(colon > 0, `malformed HTTP header line: ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
  }
  return { statusLine, status: Number(match[1]), headers, head, body: buf.subarray(end + 4) };
}

/** Does a comma-separated header value contain `token` (case-insensitive)? */
export function hasToken(value: string | undefined, token: string): boolean {
  return (value ?? '')
    .split(',')
    .some((t) => t.trim().toLowerCase() === token.toLowerCase());
}

// ─── Outgoing frame tracker ─────────────────────────────────────────────────

/**
 * Follows the bytes this client writes just far enough to notice when a close
 * frame has gone out, so `expectClose` knows whether to answer the server's
 * close (a real client echoes it, §5.5.1) or whether this was already the
 * answer. Payloads are skipped, never buffered.
 */
class OutgoingTracker {
  closeSent = false;
  private header: number[] = [];
  private skip = 0;

  feed(data: Uint8Array): void {
    let i = 0;
    while (i < data.length) {
      if (this.skip > 0) {
        const n = Math.min(this.skip, data.length - i);
        this.skip -= n;
        i += n;
        continue;
      }
      this.header.push(data[i++]);
      let size: number | undefined;
      try {
        size = frameSize(Buffer.from(this.header));
      } catch {
        size = Infinity; // a lying 64-bit length: nothing after it is a frame
      }
      if (size === undefined) continue; // frameSize answers only once the whole header is here
      if ((this.header[0] & 0x0f) === OP.CLOSE) this.closeSent = true;
      this.skip = size - this.header.length;
      this.header = [];
    }
  }
}

// ─── Requests ───────────────────────────────────────────────────────────────

export interface RequestOptions {
  method?: string;
  path?: string;
  /** Default "HTTP/1.1". */
  version?: string;
  /** Added to or replacing the defaults (matched case-insensitively); `null` removes one. */
  headers?: Record<string, string | null>;
}

/**
 * A valid upgrade request (§4.1) with a random key, altered by `opts`:
 * Host, Upgrade, Connection, Sec-WebSocket-Key, Sec-WebSocket-Version.
 */
export function upgradeRequest(port: number, opts: RequestOptions = {}): string {
  const { method = 'GET', path = '/', version = 'HTTP/1.1' } = opts;
  const headers: [string, string | null][] = [
    ['Host', `127.0.0.1:${port}`],
    ['Upgrade', 'websocket'],
    ['Connection', 'Upgrade'],
    ['Sec-WebSocket-Key', randomBytes(16).toString('base64')],
    ['Sec-WebSocket-Version', '13'],
  ];
  for (const [name, value] of Object.entries(opts.headers ?? {})) {
    const existing = headers.find(([n]) => n.toLowerCase() === name.toLowerCase());
    if (existing) {
      existing[0] = name;
      existing[1] = value;
    } else headers.push([name, value]);
  }
  let text = `${method} ${path} ${version}\r\n`;
  for (const [name, value] of headers) if (value !== null) text += `${name}: ${value}\r\n`;
  return `${text}\r\n`;
}

// ─── RawClient ──────────────────────────────────────────────────────────────

export interface ConnectOptions {
  path?: string;
  /** Extra or replacement request headers; `null` removes a default one. */
  headers?: Record<string, string | null>;
  /** Bytes written in the SAME write as the upgrade request (frames right behind it). */
  trailing?: Uint8Array;
  /** Default 2000 ms. */
  timeoutMs?: number;
}

export interface TcpCloseInfo {
  /** The server ended (FIN) or reset the connection before this client closed its side. */
  serverClosedFirst: boolean;
  /** The server reset the connection instead of closing it cleanly. */
  reset: boolean;
}

export class RawClient {
  readonly socket: net.Socket;
  /** The Sec-WebSocket-Key sent, when this client did the handshake. */
  key = '';
  /** The server's 101 response. */
  response: HttpResponse | undefined;
  /** Every frame received, in order, including ones already consumed. */
  readonly received: DecodedFrame[] = [];
  /** Socket errors seen (ECONNRESET, write after end, ...). */
  readonly errors: Error[] = [];

  /** The server sent FIN or RST. */
  serverEnded = false;
  reset = false;
  tcpClosed = false;
  /** This client called end() or destroy(). */
  clientClosed = false;
  /** Decided when the TCP connection first starts to go away. */
  serverClosedFirst: boolean | undefined;

  private handshakeBuf: Buffer | undefined = Buffer.alloc(0);
  private chunks: Buffer[] = [];
  private buffered = 0;
  private need = 0;
  private readonly queue: DecodedFrame[] = [];
  private failure: Error | undefined;
  private readonly wakers = new Set<() => void>();
  private readonly outgoing = new OutgoingTracker();

  private constructor(socket: net.Socket, expectHandshake: boolean) {
    this.socket = socket;
    if (!expectHandshake) this.handshakeBuf = undefined;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.serverEnded = true;
      this.serverClosedFirst ??= !this.clientClosed;
      this.notify();
    });
    socket.on('error', (err: NodeJS.ErrnoException) => {
      this.errors.push(err);
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') {
        this.reset = true;
        this.serverEnded = true;
        this.serverClosedFirst ??= !this.clientClosed;
      }
      this.notify();
    });
    socket.on('close', () => {
      this.tcpClosed = true;
      this.serverClosedFirst ??= !this.clientClosed;
      this.notify();
    });
  }

  /** Open a TCP connection without any handshake (for tests of the handshake itself). */
  static async open(port: number): Promise<RawClient> {
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new RawClient(socket, false);
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    return client;
  }

  /** See `rawRequest`: send raw bytes instead of a handshake, collect the HTTP answer and whether the server closed. */
  static rawRequest(port: number, data: string | Uint8Array | readonly (string | Uint8Array)[], opts?: RawRequestOptions): Promise<RawResult> {
    return rawRequest(port, data, opts);
  }

  /** Connect and perform the opening handshake by hand (§4.1); checks the 101 answer (§4.2.2). */
  static async connect(port: number, opts: ConnectOptions = {}): Promise<RawClient> {
    const { path = '/', timeoutMs = 2000 } = opts;
    const socket = net.connect({ host: '127.0.0.1', port });
    const client = new RawClient(socket, true);
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve);
        socket.once('error', reject);
      });
      client.key = randomBytes(16).toString('base64');
      const headers: Record<string, string | null> = { 'Sec-WebSocket-Key': client.key, ...opts.headers };
      const request = upgradeRequest(port, { path, headers });
      const trailing = opts.trailing ?? Buffer.alloc(0);
      client.outgoing.feed(trailing); // only frames are tracked, never the HTTP text
      socket.write(Buffer.concat([Buffer.from(request, 'latin1'), trailing]));
      await client.waitFor(() => client.response !== undefined || client.serverEnded, timeoutMs, 'the handshake response');
      const res = client.response;
      assert.ok(res, 'server closed the connection without answering the handshake');
      assert.equal(res.status, 101, `expected 101 Switching Protocols, got:\n${res.head}`);
      assert.ok(hasToken(res.headers.upgrade, 'websocket'), `101 without "Upgrade: websocket":\n${res.head}`);
      assert.ok(hasToken(res.headers.connection, 'upgrade'), `101 without "Connection: Upgrade":\n${res.head}`);
      const sentKey = headers['Sec-WebSocket-Key'];
      if (sentKey !== null) {
        assert.equal(res.headers['sec-websocket-accept'], acceptFor(sentKey), 'wrong Sec-WebSocket-Accept (§4.2.2)');
      }
      return client;
    } catch (err) {
      socket.destroy();
      throw err;
    }
  }

  // ── writing ──

  /** Write bytes as one TCP write. Writes after the connection went away are recorded, not thrown. */
  send(bytes: Uint8Array): void {
    if (this.socket.destroyed || this.socket.writableEnded) {
      this.errors.push(new Error('write after the connection was closed'));
      return;
    }
    this.outgoing.feed(bytes);
    this.socket.write(bytes);
  }

  /** Write `bytes` in pieces of `pieceSize`, waiting `delayMs` between writes (dribbling). */
  async sendChunks(bytes: Uint8Array, pieceSize: number, delayMs = 1): Promise<void> {
    for (let i = 0; i < bytes.length; i += pieceSize) {
      if (i > 0) await delay(delayMs);
      this.send(bytes.subarray(i, i + pieceSize));
    }
  }

  /** Send a (masked) close frame. */
  sendClose(code?: number, reason = ''): void {
    this.send(closeFrame(code, reason));
  }

  /** Has this client sent a close frame? */
  get closeSent(): boolean {
    return this.outgoing.closeSent;
  }

  /** Half-close our side (FIN). */
  end(): void {
    this.clientClosed = true;
    this.socket.end();
  }

  destroy(): void {
    this.clientClosed = true;
    this.socket.destroy();
  }

  // ── reading ──

  /** The next frame the server sent; rejects on timeout or if TCP closes first. */
  async nextFrame(timeoutMs = 1000): Promise<DecodedFrame> {
    await this.waitFor(() => this.queue.length > 0 || this.failure !== undefined || this.serverEnded, timeoutMs, 'a frame from the server');
    if (this.queue.length > 0) return this.queue.shift()!;
    if (this.failure) throw this.failure;
    throw new Error(`server closed the TCP connection${this.reset ? ' (reset)' : ''} instead of sending a frame; received so far: ${this.history()}`);
  }

  /** Next frame must be `opcode` with exactly `payload` (and `fin`, default true). */
  async expectFrame(opcode: number, payload: string | Uint8Array, opts: { fin?: boolean; timeoutMs?: number } = {}): Promise<DecodedFrame> {
    const f = await this.nextFrame(opts.timeoutMs);
    const want = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : Buffer.from(payload);
    const wantDesc = describeFrame({ fin: opts.fin ?? true, rsv: 0, opcode, masked: false, payload: want, wire: want });
    assert.equal(f.opcode, opcode, `expected ${wantDesc}, got ${describeFrame(f)}`);
    assert.equal(f.fin, opts.fin ?? true, `expected ${wantDesc}, got ${describeFrame(f)}`);
    if (!f.payload.equals(want)) {
      assert.fail(`expected ${wantDesc}, got ${describeFrame(f)}${firstDifference(f.payload, want)}`);
    }
    return f;
  }

  expectText(payload: string | Uint8Array, timeoutMs?: number): Promise<DecodedFrame> {
    return this.expectFrame(OP.TEXT, payload, { timeoutMs });
  }

  expectBinary(payload: Uint8Array, timeoutMs?: number): Promise<DecodedFrame> {
    return this.expectFrame(OP.BINARY, payload, { timeoutMs });
  }

  expectPong(payload: string | Uint8Array, timeoutMs?: number): Promise<DecodedFrame> {
    return this.expectFrame(OP.PONG, payload, { timeoutMs });
  }

  /**
   * The next frame must be a close frame with one of the given codes (`null`
   * = an empty body). Its reason must be valid UTF-8 (§5.5.1). Unless this
   * client already sent a close, it answers with a close echoing the code, as
   * a well-behaved client does (§5.5.1), so the server can then close TCP.
   */
  async expectClose(
    code: number | null | readonly (number | null)[],
    opts: { timeoutMs?: number; reply?: boolean } = {},
  ): Promise<ClosePayload> {
    const allowed = Array.isArray(code) ? code : [code];
    const f = await this.nextFrame(opts.timeoutMs ?? 1000);
    const want = allowed.map((c) => (c === null ? 'empty' : String(c))).join(' or ');
    assert.equal(f.opcode, OP.CLOSE, `expected a close frame (${want}), got ${describeFrame(f)}`);
    assert.notEqual(f.payload.length, 1, 'server sent a 1-byte close body (§5.5.1)');
    const body = parseClosePayload(f.payload);
    assert.ok(
      allowed.includes(body.code ?? null),
      `expected close ${want}, got ${body.code ?? 'empty'} ${JSON.stringify(body.reason)}`,
    );
    assert.ok(isUtf8(body.reasonBytes), 'server close reason is not valid UTF-8 (§5.5.1)');
    if (opts.reply ?? !this.closeSent) {
      if (!this.socket.destroyed && !this.socket.writableEnded) this.sendClose(body.code);
    }
    return body;
  }

  /**
   * §7.1.7 "Fail the WebSocket Connection": a close frame with `code`, then
   * (after this client answers it) the server closes TCP itself, cleanly, in time.
   */
  async expectFail(code: number | readonly number[], opts: { timeoutMs?: number; reply?: boolean } = {}): Promise<ClosePayload> {
    const body = await this.expectClose(code, opts);
    const info = await this.waitForTcpClose(2000);
    assert.ok(info.serverClosedFirst, 'the server must close the TCP connection itself after the closing handshake (§7.1.1)');
    assert.equal(info.reset, false, 'the server reset the TCP connection instead of closing it cleanly');
    return body;
  }

  /** Assert that no frame arrives within `ms`. */
  async expectNoFrame(ms: number, why = ''): Promise<void> {
    try {
      await this.waitFor(() => this.queue.length > 0 || this.failure !== undefined, ms, '');
    } catch {
      return; // timed out: nothing came, as wanted
    }
    if (this.failure) throw this.failure;
    assert.fail(`expected no frame${why ? ` (${why})` : ''}, got ${describeFrame(this.queue[0])}`);
  }

  /** Frames received but not yet consumed. */
  pendingFrames(): readonly DecodedFrame[] {
    return this.queue;
  }

  /** Resolves when the server ends or resets the TCP connection; rejects after `timeoutMs`. */
  async waitForTcpClose(timeoutMs = 2000): Promise<TcpCloseInfo> {
    await this.waitFor(() => this.serverEnded || this.tcpClosed, timeoutMs, 'the server to close the TCP connection');
    return { serverClosedFirst: this.serverClosedFirst === true, reset: this.reset };
  }

  /** Wait until `predicate()` holds; re-checked whenever something arrives. */
  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil(this.wakers, predicate, timeoutMs, () => `timed out after ${timeoutMs} ms waiting for ${what}; received so far: ${this.history()}`);
  }

  private history(): string {
    const shown = this.received.slice(-5).map(describeFrame);
    return shown.length ? `${this.received.length > 5 ? '… ' : ''}${shown.join(', ')}` : '(no frames)';
  }

  private notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private onData(chunk: Buffer): void {
    if (this.handshakeBuf) {
      const buf = Buffer.concat([this.handshakeBuf, chunk]);
      const res = parseHttpResponse(buf);
      if (!res) {
        this.handshakeBuf = buf;
        return;
      }
      this.handshakeBuf = undefined;
      this.response = res;
      if (res.body.length > 0) this.onFrameBytes(Buffer.from(res.body));
      this.notify();
      return;
    }
    this.onFrameBytes(chunk);
    this.notify();
  }

  /** Collect bytes; parse only once enough have arrived for the pending frame (linear for big frames). */
  private onFrameBytes(chunk: Buffer): void {
    if (this.failure) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    if (this.buffered < this.need) return;
    const buf = this.chunks.length === 1 ? this.chunks[0] : Buffer.concat(this.chunks, this.buffered);
    let offset = 0;
    this.need = 0;
    while (offset < buf.length) {
      const view = buf.subarray(offset);
      let size: number | undefined;
      try {
        size = frameSize(view);
      } catch (err) {
        this.failure = err as Error;
        break;
      }
      if (size === undefined) break;
      if (view.length < size) {
        this.need = size;
        break;
      }
      const f = decodeFrames(view.subarray(0, size)).frames[0];
      this.received.push(f);
      const problem = checkServerFrame(f);
      if (problem) {
        this.failure = new assert.AssertionError({ message: `server broke the protocol: ${problem}: ${describeFrame(f)}` });
        break;
      }
      this.queue.push(f);
      offset += size;
    }
    const rest = buf.subarray(offset);
    this.chunks = rest.length > 0 ? [rest] : [];
    this.buffered = rest.length;
  }
}

/** What the server may never send us (no extensions are negotiated in these tests). */
function checkServerFrame(f: DecodedFrame): string | undefined {
  if (f.masked) return 'masked frame from server (§5.1)';
  if (f.rsv !== 0) return 'RSV bits set without a negotiated extension (§5.2)';
  if (!(f.opcode <= 2 || (f.opcode >= 8 && f.opcode <= 10))) return 'reserved opcode (§5.2)';
  if (f.opcode >= 8 && !f.fin) return 'fragmented control frame (§5.5)';
  if (f.opcode >= 8 && f.payload.length > 125) return 'control frame over 125 bytes (§5.5)';
  // §5.2: "the minimal number of bytes MUST be used to encode the length"
  const len7 = f.wire[1] & 0x7f;
  if (len7 === 126 && f.payload.length <= 125) return 'non-minimal 16-bit length (§5.2)';
  if (len7 === 127 && f.payload.length <= 0xffff) return 'non-minimal 64-bit length (§5.2)';
  return undefined;
}

function firstDifference(got: Buffer, want: Buffer): string {
  if (got.length !== want.length) return ` (length ${got.length}, expected ${want.length})`;
  for (let i = 0; i < got.length; i++) {
    if (got[i] !== want[i]) return ` (first difference at byte ${i}: 0x${got[i].toString(16)} vs 0x${want[i].toString(16)})`;
  }
  return '';
}

// ─── rawRequest ─────────────────────────────────────────────────────────────

export interface RawResult {
  /** Everything the server sent. */
  raw: Buffer;
  /** The parsed response head, if a complete one arrived. */
  response: HttpResponse | undefined;
  /** The server closed (or reset) the connection within the timeout. */
  closed: boolean;
  reset: boolean;
  /** Milliseconds from the first write until the server closed, if it did. */
  closedAfterMs: number | undefined;
}

/**
 * Send `data` (a string is latin1; an array is written as separate writes,
 * `delayMs` apart) and collect the reply until the server closes the
 * connection or `timeoutMs` passes. For handshake tests.
 */
export interface RawRequestOptions {
  /** How long to wait for the server to close. Default 1000 ms. */
  timeoutMs?: number;
  /** Pause between the pieces of an array `data`. Default 0. */
  delayMs?: number;
  /** Half-close (FIN) after the last piece. */
  endAfterSend?: boolean;
}

export async function rawRequest(
  port: number,
  data: string | Uint8Array | readonly (string | Uint8Array)[],
  opts: RawRequestOptions = {},
): Promise<RawResult> {
  const { timeoutMs = 1000, delayMs = 0, endAfterSend = false } = opts;
  const client = await RawClient.open(port);
  const received: Buffer[] = [];
  client.socket.on('data', (chunk: Buffer) => received.push(chunk));
  const pieces = (Array.isArray(data) ? data : [data]) as readonly (string | Uint8Array)[];
  const started = Date.now();
  let closedAt: number | undefined;
  const markClosed = (): void => {
    closedAt ??= Date.now();
  };
  client.socket.on('end', markClosed);
  client.socket.on('close', markClosed);
  const sending = (async () => {
    for (let i = 0; i < pieces.length; i++) {
      if (i > 0 && delayMs > 0) await delay(delayMs);
      if (client.serverEnded || client.tcpClosed) return;
      const piece = pieces[i];
      client.send(typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece);
    }
    if (endAfterSend && !client.serverEnded) client.end();
  })();
  try {
    await client.waitFor(() => client.serverEnded || (client.tcpClosed && !client.clientClosed), timeoutMs, 'the server to close');
  } catch {
    // not closed in time: reported through `closed: false`
  }
  await sending;
  const closed = client.serverEnded || (client.tcpClosed && !client.clientClosed);
  client.destroy();
  const raw = Buffer.concat(received);
  return {
    raw,
    response: parseHttpResponse(raw),
    closed,
    reset: client.reset,
    closedAfterMs: closed && closedAt !== undefined ? closedAt - started : undefined,
  };
}

// ─── TestServer ─────────────────────────────────────────────────────────────

type Server = ReturnType<typeof createServer>;
export type ServerOptions = Parameters<typeof createServer>[0];
export type Handler = NonNullable<Parameters<typeof createServer>[1]>;
export type Connection = Parameters<Handler>[0];

/** Reject if `promise` has not settled after `ms`, naming what hung. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not finish within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Our server on 127.0.0.1, a kernel-chosen port, and (unless `handler` is
 * null) an echo handler: text comes back as text, binary as binary.
 */
export class TestServer {
  readonly clients = new Set<RawClient>();
  /** Exceptions the echo handler caught while sending (e.g. send on a closing connection). */
  readonly handlerErrors: unknown[] = [];
  /** Connection errors reported through 'error' events. */
  readonly connectionErrors: unknown[] = [];
  server!: Server;
  port = 0;
  private closing: Promise<void> | undefined;

  /** The echo handler; errors are recorded rather than thrown into the server. */
  readonly echo: Handler = (conn) => {
    conn.on('error', (err: unknown) => this.connectionErrors.push(err));
    conn.on('message', (data: string | Buffer) => {
      try {
        conn.send(data);
      } catch (err) {
        this.handlerErrors.push(err);
      }
    });
  };

  static async start(options: Partial<ServerOptions> = {}, handler?: Handler | null): Promise<TestServer> {
    const ts = new TestServer();
    const full = { ...options, host: '127.0.0.1', port: 0 } as ServerOptions;
    ts.server = handler === null ? createServer(full) : createServer(full, handler ?? ts.echo);
    const address = await ts.server.listen();
    ts.port = address.port;
    assert.ok(ts.port > 0, 'server.listen() did not report a port');
    return ts;
  }

  /** A handshaken RawClient, destroyed by `dropClients()`/`stop()`. */
  async connect(opts?: ConnectOptions): Promise<RawClient> {
    const client = await RawClient.connect(this.port, opts);
    this.clients.add(client);
    return client;
  }

  /** A bare TCP connection, no handshake. */
  async open(): Promise<RawClient> {
    const client = await RawClient.open(this.port);
    this.clients.add(client);
    return client;
  }

  request(data: string | Uint8Array | readonly (string | Uint8Array)[], opts?: RawRequestOptions): Promise<RawResult> {
    return rawRequest(this.port, data, opts);
  }

  /** The server still works: a fresh client gets an echo and a clean close. */
  async assertEchoWorks(): Promise<void> {
    const client = await this.connect();
    const message = `still alive ${Math.random()}`;
    client.send(textFrame(message));
    await client.expectText(message);
    client.sendClose(1000);
    await client.expectClose(1000);
    const info = await client.waitForTcpClose();
    assert.ok(info.serverClosedFirst, 'after the closing handshake the server must close TCP first (§7.1.1)');
  }

  dropClients(): void {
    for (const client of this.clients) client.destroy();
    this.clients.clear();
  }

  /** `server.close()`, started at most once; `stop()` awaits the same promise. */
  closeServer(): Promise<void> {
    this.closing ??= withTimeout(Promise.resolve(this.server.close()), 5000, 'server.close()');
    return this.closing;
  }

  async stop(): Promise<void> {
    this.dropClients();
    if (this.server) await this.closeServer();
  }
}
