// The client end of the wire for the fairness benchmark (bench/fairness.ts): the upgrade
// request on a plain node:net socket, masked client frames built once, and a streaming reader
// of server frames that counts payload bytes without keeping them.
//
// No WebSocket library on purpose: an attacker must send exactly the bytes it wants (1-byte
// fragments, precompressed bombs, pings it never reads the answers to) at the cost of a write,
// so that the server's event loop, not the attacker's, is what the benchmark measures.
import net from 'node:net';
import { MASK, WS_KEY } from '../common.js';

export const HOST = '127.0.0.1';

/** RFC 6455 §5.2 opcodes used here. */
export const OP = { CONT: 0x0, TEXT: 0x1, BINARY: 0x2, CLOSE: 0x8, PING: 0x9, PONG: 0xa } as const;
/** First-byte flags (§5.2; RSV1 is "per-message compressed" under RFC 7692 §6). */
export const FIN = 0x80;
export const RSV1 = 0x40;

/** Offer as loadgen.ts makes it: the 101 must accept permessage-deflate (RFC 7692). */
export const DEFLATE_OFFER = 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits';

/** A GET upgrade request (RFC 6455 §4.1, the §1.3 example key), with extra header lines. */
export function upgradeRequest(port: number, extra: string[] = []): string {
  const lines = [
    'GET / HTTP/1.1',
    `Host: ${HOST}:${port}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${WS_KEY}`,
    'Sec-WebSocket-Version: 13',
    ...extra,
  ];
  return lines.join('\r\n') + '\r\n\r\n';
}

/** A connection whose response head has arrived. The socket is paused; `rest` follows the head. */
export interface Upgraded {
  socket: net.Socket;
  status: number;
  head: string;
  rest: Buffer;
}

/** The connection ended, failed or timed out before a complete response head. */
export class NoResponse extends Error {
  constructor(readonly kind: string) {
    super(kind);
  }
}

/** How a socket error reads in a report: `reset` for RST (ECONNRESET, EPIPE), else its code. */
export function errorKind(e: NodeJS.ErrnoException): string {
  return e.code === 'ECONNRESET' || e.code === 'EPIPE' ? 'reset' : (e.code ?? e.message);
}

const noop = (): void => {};

/**
 * Connect to 127.0.0.1:port, send `request` (one write) and wait for the response head.
 * Resolves with the status whatever it is (the caller decides), the socket paused (nothing is
 * read until the caller resumes it) and with a no-op 'error' listener, so a reset the caller
 * does not watch for cannot crash the process. Rejects with NoResponse.
 */
export function upgrade(port: number, request: string | Buffer, timeoutMs: number): Promise<Upgraded> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: HOST, port, noDelay: true });
    socket.on('error', noop);
    let buf: Buffer = Buffer.alloc(0);
    const cleanup = (): void => {
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('error', onError);
      socket.off('end', onEnd);
      socket.off('close', onEnd);
    };
    const fail = (kind: string): void => {
      cleanup();
      socket.destroy();
      reject(new NoResponse(kind));
    };
    const onData = (d: Buffer): void => {
      buf = buf.length === 0 ? d : Buffer.concat([buf, d]);
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) {
        if (buf.length > 64 * 1024) fail('response head over 64 KiB');
        return;
      }
      cleanup();
      socket.pause();
      const head = buf.toString('latin1', 0, end);
      const m = /^HTTP\/1\.1 (\d{3})/.exec(head);
      if (!m) {
        socket.destroy();
        reject(new NoResponse(`bad status line ${JSON.stringify(head.split('\r\n', 1)[0])}`));
        return;
      }
      resolve({ socket, status: Number(m[1]), head, rest: buf.subarray(end + 4) });
    };
    const onError = (e: NodeJS.ErrnoException): void => fail(errorKind(e));
    const onEnd = (): void => fail('eof');
    const timer = setTimeout(() => fail('timeout'), timeoutMs);
    socket.on('data', onData);
    socket.on('error', onError);
    socket.on('end', onEnd);
    socket.on('close', onEnd);
    socket.write(request);
  });
}

/** Value of a response header (first occurrence), or undefined. */
export function header(head: string, name: string): string | undefined {
  const want = name.toLowerCase() + ':';
  for (const line of head.split('\r\n')) {
    if (line.toLowerCase().startsWith(want)) return line.slice(want.length).trim();
  }
  return undefined;
}

/**
 * Why a 101 cannot carry our precompressed frames, or null if it can: permessage-deflate must
 * be accepted, and with a client window of 15 bits (deflateRawSync's default), RFC 7692 §7.1.2.2.
 */
export function deflateRefused(up: Upgraded): string | null {
  if (up.status !== 101) return `HTTP ${up.status}`;
  const ext = header(up.head, 'sec-websocket-extensions') ?? '';
  if (!/permessage-deflate/i.test(ext)) return `permessage-deflate not accepted (extensions: ${JSON.stringify(ext)})`;
  const m = /client_max_window_bits\s*=\s*"?(\d+)/i.exec(ext);
  if (m && Number(m[1]) < 15) return `server asks client_max_window_bits=${m[1]}`;
  return null;
}

/** A masked client frame (§5.2, §5.3): `b0` is FIN|RSV|opcode, the payload is XORed once here. */
export function maskedFrame(b0: number, payload: Buffer, mask: Buffer = MASK): Buffer {
  const n = payload.length;
  const ext = n <= 125 ? 0 : n <= 0xffff ? 2 : 8;
  const h = 2 + ext + 4;
  const f = Buffer.allocUnsafe(h + n);
  f[0] = b0;
  if (ext === 0) f[1] = 0x80 | n;
  else if (ext === 2) {
    f[1] = 0x80 | 126;
    f.writeUInt16BE(n, 2);
  } else {
    f[1] = 0x80 | 127;
    f.writeBigUInt64BE(BigInt(n), 2);
  }
  mask.copy(f, 2 + ext);
  for (let i = 0; i < n; i++) f[h + i] = payload[i] ^ mask[i & 3];
  return f;
}

/** A masked close frame with a status code (§5.5.1). */
export function closeFrame(code: number): Buffer {
  const p = Buffer.alloc(2);
  p.writeUInt16BE(code, 0);
  return maskedFrame(FIN | OP.CLOSE, p);
}

/** What a FrameReader reports. Payloads of data frames are counted, never kept. */
export interface ReaderEvents {
  /** A whole data message (its FIN frame arrived); `bytes` are payload bytes on the wire. */
  message?(opcode: number, bytes: number, compressed: boolean): void;
  /** A close frame: its status code, or null for an empty body. */
  close?(code: number | null): void;
  ping?(): void;
  pong?(): void;
  /** The server broke the framing (a masked frame, a control frame over 125 bytes). */
  invalid?(why: string): void;
}

/**
 * Streaming reader of server-to-client frames (§5.2): headers are taken across chunk
 * boundaries, data payloads are skipped (only their lengths add up), control payloads
 * (≤ 125 bytes) are kept for the close code. After an `invalid` report it reads nothing more.
 */
export class FrameReader {
  private readonly hdr = Buffer.alloc(14);
  private hdrLen = 0;
  private hdrNeed = 2;
  private inPayload = false;
  private remaining = 0;
  private frameLen = 0;
  private b0 = 0;
  private ctl: Buffer | null = null;
  private ctlLen = 0;
  private msgOpcode = 0;
  private msgBytes = 0;
  private msgCompressed = false;
  private dead = false;

  constructor(private readonly on: ReaderEvents) {}

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length && !this.dead) {
      if (!this.inPayload) {
        while (this.hdrLen < this.hdrNeed && i < chunk.length) this.hdr[this.hdrLen++] = chunk[i++];
        if (this.hdrLen < this.hdrNeed) return;
        if (this.hdrLen === 2) {
          const len7 = this.hdr[1] & 0x7f;
          this.hdrNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (this.hdr[1] & 0x80 ? 4 : 0);
          if (this.hdrLen < this.hdrNeed) continue;
        }
        if (!this.startFrame()) return;
        if (this.remaining === 0) {
          this.endFrame();
          continue;
        }
      }
      const take = Math.min(this.remaining, chunk.length - i);
      if (this.ctl) chunk.copy(this.ctl, this.ctlLen, i, i + take);
      this.ctlLen += take;
      i += take;
      this.remaining -= take;
      if (this.remaining === 0) this.endFrame();
    }
  }

  private startFrame(): boolean {
    this.b0 = this.hdr[0];
    const len7 = this.hdr[1] & 0x7f;
    const len = len7 === 126 ? this.hdr.readUInt16BE(2) : len7 === 127 ? Number(this.hdr.readBigUInt64BE(2)) : len7;
    const opcode = this.b0 & 0x0f;
    if (this.hdr[1] & 0x80) return this.invalid('masked frame from the server (§5.1)');
    if (opcode >= 0x8 && len > 125) return this.invalid('control frame over 125 bytes (§5.5)');
    this.frameLen = len;
    this.remaining = len;
    this.ctl = opcode >= 0x8 ? Buffer.alloc(len) : null;
    this.ctlLen = 0;
    this.inPayload = true;
    return true;
  }

  private endFrame(): void {
    this.inPayload = false;
    this.hdrLen = 0;
    this.hdrNeed = 2;
    const opcode = this.b0 & 0x0f;
    const fin = (this.b0 & FIN) !== 0;
    if (opcode === OP.CLOSE) {
      const ctl = this.ctl!;
      this.on.close?.(ctl.length >= 2 ? ctl.readUInt16BE(0) : null);
    } else if (opcode === OP.PING) this.on.ping?.();
    else if (opcode === OP.PONG) this.on.pong?.();
    else {
      if (opcode !== OP.CONT) {
        this.msgOpcode = opcode;
        this.msgBytes = 0;
        this.msgCompressed = (this.b0 & RSV1) !== 0;
      }
      this.msgBytes += this.frameLen;
      if (fin) this.on.message?.(this.msgOpcode, this.msgBytes, this.msgCompressed);
    }
    this.ctl = null;
  }

  private invalid(why: string): false {
    this.dead = true;
    this.on.invalid?.(why);
    return false;
  }
}
