/**
 * The frames a browser will not send, built by hand and written to a raw TCP
 * socket: a browser's WebSocket API sends each message as one well-formed
 * frame and has no ping() at all, so to show the server's answer to a
 * fragmented message, a ping, invalid UTF-8 or an unmasked frame, the
 * inspector's server connects to itself as a scripted client and sends them.
 *
 * Nothing here is the library: the opening handshake and the frames are
 * written out byte by byte, so a learner can read exactly what was sent.
 */
import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { computeAcceptKey } from '../../src/sans-io.js'; // in your project: from 'wsrfc/sans-io'

/** A case the page can ask for: what it shows, and the frames the scripted client writes. */
export interface ScriptedCase {
  /** One line for the page, saying what to watch for. */
  explain: string;
  frames: () => Buffer[];
}

const TEXT = 0x1;
const CONTINUATION = 0x0;
const CLOSE = 0x8;
const PING = 0x9;

export const SCRIPTED_CASES: Record<string, ScriptedCase> = {
  'fragmented-text': {
    explain:
      'One text message in three frames: TEXT with FIN 0, CONTINUATION with FIN 0, CONTINUATION with FIN 1 (§5.4). ' +
      'The server echoes it whole, in one frame; then the client closes.',
    frames: () => [
      buildFrame(TEXT, 'Hello, ', { fin: false }),
      buildFrame(CONTINUATION, 'fragmented ', { fin: false }),
      buildFrame(CONTINUATION, 'world!'),
      closeFrame(1000, ''),
    ],
  },
  ping: {
    explain: 'A ping with a payload (§5.5.2): the server answers with a pong carrying the same payload (§5.5.3). Then the client closes.',
    frames: () => [buildFrame(PING, 'are you there?'), closeFrame(1000, '')],
  },
  'invalid-utf8': {
    explain:
      'A text frame whose payload is not UTF-8 (0xC0 0xAF is an overlong encoding of "/"). §8.1: the server must fail the connection: it closes with 1007.',
    frames: () => [buildFrame(TEXT, Buffer.concat([Buffer.from('Hello '), Buffer.from([0xc0, 0xaf])]))],
  },
  'close-with-reason': {
    explain: 'The client starts the closing handshake with code 4000 and a reason (§5.5.1, §7.4.2); the server answers with a close frame of its own and closes TCP (§7.1.1).',
    frames: () => [closeFrame(4000, 'done here, thanks')],
  },
  unmasked: {
    explain: 'A text frame from a client without a mask. §5.1: "The server MUST close the connection upon receiving a frame that is not masked": it closes with 1002.',
    frames: () => [buildFrame(TEXT, 'no mask', { mask: false })],
  },
};

/**
 * Encode one frame (§5.2). A client masks every frame (§5.1) with a fresh
 * random key (§5.3); `mask: false` breaks that rule on purpose.
 */
export function buildFrame(opcode: number, payload: string | Buffer, { fin = true, mask = true } = {}): Buffer {
  const data = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  let header: Buffer;
  if (data.length < 126) {
    header = Buffer.from([0, data.length]);
  } else if (data.length < 65536) {
    header = Buffer.alloc(4);
    header[1] = 126;
    header.writeUInt16BE(data.length, 2);
  } else {
    header = Buffer.alloc(10);
    header[1] = 127;
    header.writeBigUInt64BE(BigInt(data.length), 2);
  }
  header[0] = (fin ? 0x80 : 0) | opcode;
  if (!mask) return Buffer.concat([header, data]);
  header[1] |= 0x80;
  const key = randomBytes(4);
  const masked = Buffer.alloc(data.length);
  for (let i = 0; i < data.length; i++) masked[i] = data[i] ^ key[i % 4];
  return Buffer.concat([header, key, masked]);
}

/** A close frame's payload: the 2-byte status code, then the reason in UTF-8 (§5.5.1). */
function closeFrame(code: number, reason: string): Buffer {
  const payload = Buffer.alloc(2 + Buffer.byteLength(reason));
  payload.writeUInt16BE(code, 0);
  payload.write(reason, 2, 'utf8');
  return buildFrame(CLOSE, payload);
}

/**
 * Open a raw TCP connection to `port`, do the opening handshake by hand
 * (§4.1), write the case's frames, and wait (at most `timeout` ms) for the
 * server to close TCP. What the server says back is not read here: the
 * inspector shows it from the server's side, as the bytes it wrote.
 */
export async function runScriptedClient(host: string, port: number, path: string, frames: Buffer[], timeout = 5000): Promise<void> {
  const socket = connect(port, host);
  const key = randomBytes(16).toString('base64');
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  const timer = setTimeout(() => socket.destroy(), timeout);
  socket.on('error', () => {}); // reported as a close; the page learns from the server's side
  try {
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('close', () => reject(new Error('the connection closed before it opened')));
    });
    socket.write(
      `GET ${path} HTTP/1.1\r\n` +
        `Host: ${host}:${port}\r\n` +
        'Upgrade: websocket\r\n' +
        'Connection: Upgrade\r\n' +
        `Sec-WebSocket-Key: ${key}\r\n` +
        'Sec-WebSocket-Version: 13\r\n\r\n',
    );
    await readResponseHead(socket, key);
    socket.resume(); // the server's frames: discarded here, shown by the inspector
    for (const frame of frames) socket.write(frame);
    await closed;
  } finally {
    clearTimeout(timer);
    socket.destroy();
  }
}

/** Wait for the server's response head and check it accepted the upgrade (§4.1: 101 and the right Sec-WebSocket-Accept). */
function readResponseHead(socket: Socket, key: string): Promise<void> {
  return new Promise((resolve, reject) => {
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer): void => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end === -1) return;
      socket.off('data', onData);
      socket.pause();
      // Frames the server sent right behind its head are not needed here: dropped.
      const text = head.subarray(0, end).toString('latin1');
      const accept = /^sec-websocket-accept:\s*(\S+)/im.exec(text)?.[1];
      if (!text.startsWith('HTTP/1.1 101 ')) reject(new Error(`the server refused the upgrade: ${text.split('\r\n')[0]}`));
      else if (accept !== computeAcceptKey(key)) reject(new Error('wrong Sec-WebSocket-Accept'));
      else resolve();
    };
    socket.on('data', onData);
    socket.once('close', () => reject(new Error('the connection closed during the handshake')));
  });
}
