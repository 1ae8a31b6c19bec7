// Raw node:net "echo" — the ceiling for a Node.js WebSocket server on this machine.
//
// Answers the upgrade with a fixed 101 (the generators always send the RFC 6455 example
// key, so the accept value is a constant), then does no WebSocket processing at all: the
// generator sends one fixed masked frame over and over, so after the first frame of a
// connection (parsed once, to learn its length F and to build the unmasked reply frame) the
// number of complete request frames in each read is pure byte arithmetic, and the server
// answers with that many pre-built reply frames in ONE write per read.
//
// Prints {"port","pid"} on stdout when listening.
import net from 'node:net';
import { WS_ACCEPT, announce, exitWithParent } from '../common.js';

exitWithParent();

const RESPONSE = Buffer.from(
  'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
    `Sec-WebSocket-Accept: ${WS_ACCEPT}\r\n\r\n`,
  'latin1',
);

interface Replies {
  request: Buffer; // the request frame it answers (to share the replies between connections)
  frameLen: number; // F: bytes per request frame
  replyLen: number; // R: bytes per reply frame
  copies: number; // reply frames in `buf`
  buf: Buffer; // `copies` back-to-back reply frames
}
let cache: Replies | null = null;

/** Build (or reuse) the replies for a complete masked request frame `f`. */
function repliesFor(f: Buffer): Replies {
  if (cache && cache.request.equals(f)) return cache;
  const l7 = f[1] & 0x7f;
  let h = 2;
  let len = l7;
  if (l7 === 126) {
    len = f.readUInt16BE(2);
    h = 4;
  } else if (l7 === 127) {
    len = Number(f.readBigUInt64BE(2));
    h = 10;
  }
  const mask = f.subarray(h, h + 4);
  const reply = Buffer.allocUnsafe(h + len);
  reply[0] = f[0];
  reply[1] = l7; // same length encoding, mask bit cleared
  f.copy(reply, 2, 2, h);
  for (let i = 0; i < len; i++) reply[h + i] = f[h + 4 + i] ^ mask[i & 3];
  const copies = Math.max(1, Math.min(1024, Math.floor((1 << 20) / reply.length)));
  const buf = Buffer.allocUnsafe(reply.length * copies);
  for (let i = 0; i < copies; i++) reply.copy(buf, i * reply.length);
  cache = { request: Buffer.from(f), frameLen: f.length, replyLen: reply.length, copies, buf };
  return cache;
}

/** Length of the first complete frame at the start of `b`, or -1 if incomplete. */
function firstFrameLength(b: Buffer): number {
  if (b.length < 2) return -1;
  const l7 = b[1] & 0x7f;
  const h = (l7 === 126 ? 4 : l7 === 127 ? 10 : 2) + (b[1] & 0x80 ? 4 : 0);
  if (b.length < h) return -1;
  const len = l7 === 126 ? b.readUInt16BE(2) : l7 === 127 ? Number(b.readBigUInt64BE(2)) : l7;
  return b.length >= h + len ? h + len : -1;
}

const server = net.createServer({ noDelay: true }, (sock) => {
  let pending: Buffer | null = Buffer.alloc(0); // handshake / first-frame bytes; null once learned
  let upgraded = false;
  let r: Replies | null = null;
  let carry = 0; // bytes of an incomplete request frame already received

  const reply = (count: number): void => {
    const rp = r!;
    if (count <= rp.copies) {
      sock.write(rp.buf.subarray(0, count * rp.replyLen));
      return;
    }
    sock.cork();
    while (count > 0) {
      const n = Math.min(count, rp.copies);
      sock.write(rp.buf.subarray(0, n * rp.replyLen));
      count -= n;
    }
    sock.uncork();
  };

  sock.on('data', (d: Buffer) => {
    if (r !== null) {
      // The hot path: byte arithmetic only.
      carry += d.length;
      const count = Math.floor(carry / r.frameLen);
      if (count > 0) {
        carry -= count * r.frameLen;
        reply(count);
      }
      return;
    }
    pending = Buffer.concat([pending!, d]);
    if (!upgraded) {
      const end = pending.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      sock.write(RESPONSE);
      pending = pending.subarray(end + 4);
    }
    const fl = firstFrameLength(pending);
    if (fl < 0) return;
    r = repliesFor(pending.subarray(0, fl));
    carry = pending.length;
    pending = null;
    const count = Math.floor(carry / r.frameLen);
    carry -= count * r.frameLen;
    reply(count);
  });
  sock.on('error', () => {});
});

server.listen(0, '127.0.0.1', () => {
  const a = server.address() as net.AddressInfo;
  announce(a.port);
});
