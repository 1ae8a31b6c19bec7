/**
 * A bare-socket WebSocket client for tests of what our server SENDS: it does
 * the upgrade by hand (optionally offering permessage-deflate), then parses
 * the server's frames as they arrive, header by header, streaming each
 * payload through a callback so that a 256 MiB message costs it no memory.
 * Each frame is recorded (opcode, FIN, RSV bits, length) in arrival order;
 * payloads are kept only when asked (`keepPayloads`).
 *
 * The peer can stop reading (pause()) to play a slow receiver, and send
 * masked frames of its own (frames.ts).
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { once } from 'node:events';
import net from 'node:net';

import { parseHttpResponse } from './raw-client.js';
import { waitFor } from './wait-for.js';

export interface SeenFrame {
  opcode: number;
  fin: boolean;
  rsv: number;
  length: number;
  /** The payload, if the peer keeps payloads. */
  payload?: Buffer;
}

export interface RawPeerOptions {
  /** Sec-WebSocket-Extensions to offer, e.g. `permessage-deflate`. */
  extensions?: string;
  /** Keep every frame's payload in `frames` (default true). */
  keepPayloads?: boolean;
  /** Called with every piece of payload as it arrives (after the frame's header was seen). */
  onPayload?: (frame: SeenFrame, piece: Buffer) => void;
  path?: string;
}

export class RawPeer {
  readonly frames: SeenFrame[] = [];
  /** Payload bytes received so far, over all frames. */
  payloadBytes = 0;
  /** The 101 response's Sec-WebSocket-Extensions ('' if none). */
  extensions = '';
  closed = false;

  private buffer: Buffer = Buffer.alloc(0);
  private current: SeenFrame | null = null;
  private remaining = 0;
  private pieces: Buffer[] = [];

  private constructor(
    readonly socket: net.Socket,
    private readonly options: RawPeerOptions,
  ) {}

  static async connect(port: number, options: RawPeerOptions = {}): Promise<RawPeer> {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    await once(socket, 'connect');
    const peer = new RawPeer(socket, options);
    const extensions = options.extensions !== undefined ? `Sec-WebSocket-Extensions: ${options.extensions}\r\n` : '';
    socket.write(
      `GET ${options.path ?? '/'} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
        `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n${extensions}\r\n`,
    );
    let head = Buffer.alloc(0);
    await new Promise<void>((resolve, reject) => {
      const onData = (chunk: Buffer): void => {
        head = Buffer.concat([head, chunk]);
        const response = parseHttpResponse(head);
        if (response === undefined) return;
        socket.off('data', onData);
        if (response.status !== 101) return reject(new Error(`handshake refused: ${response.statusLine}`));
        peer.extensions = response.headers['sec-websocket-extensions'] ?? '';
        socket.on('data', (data: Buffer) => peer.feed(data));
        if (response.body.length > 0) peer.feed(response.body);
        resolve();
      };
      socket.on('data', onData);
      socket.once('close', () => reject(new Error('closed during the handshake')));
    });
    socket.on('close', () => (peer.closed = true));
    return peer;
  }

  /** Stop reading: the kernel buffers fill up and the server sees a slow receiver. */
  pause(): void {
    this.socket.pause();
  }

  resume(): void {
    this.socket.resume();
  }

  write(bytes: Uint8Array): void {
    this.socket.write(bytes);
  }

  /** Wait until `predicate` holds (frames seen so far), at most `timeout` ms. */
  async until(predicate: (frames: readonly SeenFrame[]) => boolean, what: string, timeout = 5000): Promise<void> {
    await waitFor(() => predicate(this.frames), { what: () => `${what}; frames so far: ${this.describe()}`, timeout, interval: 2 });
  }

  /** `TEXT fin=0 rsv=0 [5]`, … for assertion messages. */
  describe(): string {
    const names: Record<number, string> = { 0: 'CONT', 1: 'TEXT', 2: 'BINARY', 8: 'CLOSE', 9: 'PING', 10: 'PONG' };
    return this.frames.map((f) => `${names[f.opcode] ?? f.opcode}${f.fin ? '' : ' fin=0'}${f.rsv ? ` rsv=${f.rsv}` : ''} [${f.length}]`).join(', ');
  }

  destroy(): void {
    this.socket.destroy();
  }

  private feed(data: Buffer): void {
    this.buffer = this.buffer.length === 0 ? data : Buffer.concat([this.buffer, data]);
    for (;;) {
      if (this.current !== null) {
        if (this.remaining > 0) {
          if (this.buffer.length === 0) return;
          const piece = this.buffer.subarray(0, Math.min(this.remaining, this.buffer.length));
          this.buffer = this.buffer.subarray(piece.length);
          this.remaining -= piece.length;
          this.payloadBytes += piece.length;
          if (this.options.keepPayloads !== false) this.pieces.push(piece);
          this.options.onPayload?.(this.current, piece);
        }
        if (this.remaining > 0) return;
        if (this.options.keepPayloads !== false) this.current.payload = Buffer.concat(this.pieces);
        this.pieces = [];
        this.frames.push(this.current);
        this.current = null;
      }
      const b = this.buffer;
      if (b.length < 2) return;
      assert.equal(b[1] & 0x80, 0, 'a server frame is never masked (§5.1)');
      const len7 = b[1] & 0x7f;
      const headerLength = len7 === 126 ? 4 : len7 === 127 ? 10 : 2;
      if (b.length < headerLength) return;
      const length = len7 === 126 ? b.readUInt16BE(2) : len7 === 127 ? Number(b.readBigUInt64BE(2)) : len7;
      this.current = { opcode: b[0] & 0x0f, fin: (b[0] & 0x80) !== 0, rsv: (b[0] >> 4) & 7, length };
      this.remaining = length;
      this.buffer = b.subarray(headerLength);
      if (length === 0) this.options.onPayload?.(this.current, Buffer.alloc(0));
    }
  }
}

/** SHA-256 of a byte stream fed piece by piece. */
export function hashOf(pieces: Iterable<Uint8Array>): string {
  const hash = createHash('sha256');
  for (const piece of pieces) hash.update(piece);
  return hash.digest('hex');
}
