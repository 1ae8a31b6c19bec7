/**
 * A WebSocket "server" made of bare node:net and hand-built bytes, to test
 * the client end to end: it reads the client's upgrade request, then lets a
 * test answer anything at all (a wrong accept value, a redirect, masked
 * frames, a close it never finishes) and read back, frame by frame, what the
 * client sent, including when the client half-closes TCP.
 *
 * Written independently of src/ (frames come from ./frames.ts, the accept
 * value from ./raw-client.ts), so a bug in the client cannot hide behind the
 * same bug here.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { decodeFrames, describeFrame, frame, type DecodedFrame } from './frames.js';
import { acceptFor } from './raw-client.js';
import { waitUntil } from './wait-until.js';

export interface ClientRequest {
  /** The head as text, up to and including the blank line. */
  raw: string;
  /** `GET /path HTTP/1.1` */
  requestLine: string;
  /** Lowercase names; repeated lines joined with ", ". */
  headers: Record<string, string>;
  /** The header lines as sent, in order. */
  lines: string[];
}

const HEAD_END = Buffer.from('\r\n\r\n');

/** One client connection, seen from the server side. */
export class ServerPeer {
  readonly socket: net.Socket;
  request: ClientRequest | undefined;
  /** Every frame the client sent, in order (unmasked payloads, `masked` as on the wire). */
  readonly received: DecodedFrame[] = [];
  /** The client half-closed (FIN) or the socket closed. */
  clientEnded = false;
  /** When `clientEnded` became true (Date.now()). */
  clientEndedAt = 0;
  closed = false;
  /**
   * Answer the client's FIN with ours at once, as a server with Node's
   * default (allowHalfOpen false) would. Off: keep our side open until
   * `end()`, to see how long the client waits.
   */
  endWhenClientEnds = true;
  private head: Buffer | undefined = Buffer.alloc(0);
  private pending: Buffer = Buffer.alloc(0);
  private consumed = 0;
  private readonly wakers = new Set<() => void>();

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('end', () => {
      this.markEnded();
      if (this.endWhenClientEnds) socket.end();
    });
    socket.on('error', () => {});
    socket.on('close', () => {
      this.closed = true;
      this.markEnded();
    });
  }

  /** Wait for the complete upgrade request. */
  async waitForRequest(timeoutMs = 2000): Promise<ClientRequest> {
    await this.waitFor(() => this.request !== undefined, timeoutMs, 'the upgrade request');
    return this.request!;
  }

  /** The 101 a correct server would send for this request; `override` replaces or (null) removes headers. */
  acceptResponse(override: Record<string, string | null> = {}, extraLines: string[] = []): string {
    const key = this.request?.headers['sec-websocket-key'] ?? '';
    const headers: Record<string, string | null> = {
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Accept': acceptFor(key),
      ...override,
    };
    let text = 'HTTP/1.1 101 Switching Protocols\r\n';
    for (const [name, value] of Object.entries(headers)) if (value !== null) text += `${name}: ${value}\r\n`;
    for (const line of extraLines) text += `${line}\r\n`;
    return `${text}\r\n`;
  }

  /** Wait for the request, then answer 101 (plus `trailing` bytes in the same write). */
  async accept(override: Record<string, string | null> = {}, trailing: Buffer = Buffer.alloc(0)): Promise<void> {
    await this.waitForRequest();
    this.write(Buffer.concat([Buffer.from(this.acceptResponse(override), 'latin1'), trailing]));
  }

  write(bytes: string | Uint8Array): void {
    if (!this.socket.destroyed && this.socket.writable) this.socket.write(typeof bytes === 'string' ? Buffer.from(bytes, 'latin1') : bytes);
  }

  /** An unmasked server frame. */
  sendFrame(opcode: number, payload: string | Uint8Array = '', options: { fin?: boolean; rsv?: number; mask?: boolean } = {}): void {
    this.write(frame({ opcode, payload, mask: false, ...options }));
  }

  /** The next frame the client sent; rejects on timeout or if the client ends first. */
  async nextFrame(timeoutMs = 2000): Promise<DecodedFrame> {
    await this.waitFor(() => this.received.length > this.consumed || this.clientEnded, timeoutMs, 'a frame from the client');
    if (this.received.length > this.consumed) return this.received[this.consumed++];
    assert.fail(`the client closed TCP instead of sending a frame; frames so far: ${this.history()}`);
  }

  /** Wait for the client's FIN (or the socket closing). */
  async waitForClientEnd(timeoutMs = 2000): Promise<void> {
    await this.waitFor(() => this.clientEnded, timeoutMs, 'the client to close TCP');
  }

  /** True if the client did not close TCP within `ms`. */
  async clientStaysOpen(ms: number): Promise<boolean> {
    try {
      await this.waitFor(() => this.clientEnded, ms, '');
      return false;
    } catch {
      return true;
    }
  }

  end(): void {
    this.socket.end();
  }

  destroy(): void {
    this.socket.destroy();
  }

  waitFor(predicate: () => boolean, timeoutMs: number, what: string): Promise<void> {
    return waitUntil(this.wakers, predicate, timeoutMs, () => `timed out after ${timeoutMs} ms waiting for ${what}; frames so far: ${this.history()}`);
  }

  private history(): string {
    return this.received.length === 0 ? '(none)' : this.received.map(describeFrame).join(', ');
  }

  private markEnded(): void {
    if (!this.clientEnded) {
      this.clientEnded = true;
      this.clientEndedAt = Date.now();
    }
    this.notify();
  }

  private notify(): void {
    for (const wake of [...this.wakers]) wake();
  }

  private onData(chunk: Buffer): void {
    if (this.head !== undefined) {
      const buf = Buffer.concat([this.head, chunk]);
      const end = buf.indexOf(HEAD_END);
      if (end < 0) {
        this.head = buf;
        return;
      }
      this.head = undefined;
      const raw = buf.subarray(0, end + 4).toString('latin1');
      const [requestLine, ...lines] = raw.slice(0, -4).split('\r\n');
      const headers = Object.create(null) as Record<string, string>;
      for (const line of lines) {
        const colon = line.indexOf(':');
        const name = line.slice(0, colon).trim().toLowerCase();
        const value = line.slice(colon + 1).trim();
        headers[name] = name in headers ? `${headers[name]}, ${value}` : value;
      }
      this.request = { raw, requestLine, headers, lines };
      chunk = buf.subarray(end + 4);
    }
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const { frames, rest } = decodeFrames(this.pending);
    for (const f of frames) this.received.push({ ...f, wire: Buffer.from(f.wire) });
    this.pending = Buffer.from(rest);
    this.notify();
  }
}

/** A listening raw server on 127.0.0.1; every connection becomes a ServerPeer. */
export class ScriptedServer {
  readonly peers: ServerPeer[] = [];
  port = 0;
  private readonly server: net.Server;
  private readonly wakers = new Set<() => void>();

  private constructor(onPeer: ((peer: ServerPeer) => void) | undefined) {
    this.server = net.createServer({ allowHalfOpen: true }, (socket) => {
      const peer = new ServerPeer(socket);
      this.peers.push(peer);
      onPeer?.(peer);
      for (const wake of [...this.wakers]) wake();
    });
  }

  /** Start listening; `onPeer` runs for every connection (e.g. to answer automatically). */
  static async start(onPeer?: (peer: ServerPeer) => void): Promise<ScriptedServer> {
    const s = new ScriptedServer(onPeer);
    await new Promise<void>((resolve) => s.server.listen(0, '127.0.0.1', resolve));
    s.port = (s.server.address() as net.AddressInfo).port;
    return s;
  }

  url(path = '/'): string {
    return `ws://127.0.0.1:${this.port}${path}`;
  }

  /** The `index`-th connection, once it exists. */
  async peer(index = 0, timeoutMs = 2000): Promise<ServerPeer> {
    if (this.peers.length <= index) {
      await new Promise<void>((resolve, reject) => {
        const check = (): void => {
          if (this.peers.length <= index) return;
          clearTimeout(timer);
          this.wakers.delete(check);
          resolve();
        };
        const timer = setTimeout(() => {
          this.wakers.delete(check);
          reject(new Error(`no connection #${index} within ${timeoutMs} ms`));
        }, timeoutMs);
        this.wakers.add(check);
      });
    }
    return this.peers[index];
  }

  async stop(): Promise<void> {
    for (const peer of this.peers) peer.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
