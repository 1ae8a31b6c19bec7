/**
 * Errors of ours while a connection handles input, over real sockets: an
 * extension that throws, event listeners that throw (even the one that
 * reports errors). Each fails that connection with 1011 ("internal error",
 * §7.4.1), is reported on an 'error' event, and never reaches the socket's
 * 'data' handler or the process (no uncaught exception).
 */
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer as createTcpServer, connect as tcpConnect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { InternalError } from '../../src/errors.js';
import type { MessageExtension } from '../../src/extensions/extension.js';
import { WebSocketConnection, type ConnectionOptions } from '../../src/connection/websocket-connection.js';
import { createServer, type WebSocketServer } from '../../src/index.js';
import { OP, RSV1, decodeFrames, frame, parseClosePayload, parseServerFrames, type DecodedFrame } from '../helpers/frames.js';

const T = { timeout: 10_000 };

/** Every uncaught exception while these tests run: there must be none. */
const uncaught: unknown[] = [];
const recordUncaught = (error: unknown): void => void uncaught.push(error);
before(() => process.on('uncaughtException', recordUncaught));
after(() => {
  process.off('uncaughtException', recordUncaught);
  assert.deepEqual(uncaught, [], 'an error escaped into the process');
});

/** An extension that owns RSV1 and throws when it is asked to decode, or to encode. */
function faultyExtension(where: 'decode' | 'encode'): MessageExtension & { released: boolean } {
  return {
    name: 'faulty',
    rsvBits: RSV1,
    released: false,
    shouldEncode: () => where === 'encode',
    encode(): Buffer {
      throw new TypeError('encoder bug');
    },
    decode(): Buffer {
      throw new TypeError('decoder bug');
    },
    release() {
      this.released = true;
    },
  };
}

const OPTIONS: Omit<ConnectionOptions, 'role'> = {
  maxMessageSize: 1 << 20,
  maxFrameSize: 1 << 20,
  maxFragments: 1024,
  closeTimeout: 2000,
  idleTimeout: 0,
  pingInterval: 0,
  sendHighWaterMark: 1 << 20,
  logger: null,
  sendStallTimeout: 0,
  maxPendingPongs: 64,
  turnBudget: 1024,
};

/**
 * A WebSocketConnection in `role` on one end of a real TCP connection (the
 * opening handshake is not the point here), and the raw socket at the other.
 */
async function socketPair(role: 'server' | 'client', extension: MessageExtension): Promise<{ connection: WebSocketConnection; peer: Socket; close: () => void }> {
  const tcp = createTcpServer();
  tcp.listen(0, '127.0.0.1');
  await once(tcp, 'listening');
  const { port } = tcp.address() as { port: number };
  const accepted = once(tcp, 'connection') as Promise<[Socket]>;
  const dialed = tcpConnect(port, '127.0.0.1');
  await once(dialed, 'connect');
  const [acceptedSocket] = await accepted;
  const [ours, peer] = role === 'server' ? [acceptedSocket, dialed] : [dialed, acceptedSocket];
  const request = { path: '/', query: '', headers: new Map() as never, origin: undefined, protocol: '', remoteAddress: undefined, remotePort: undefined };
  const connection = WebSocketConnection.forServer(ours, request, undefined, { ...OPTIONS, role, extension });
  connection.start(Buffer.alloc(0));
  return {
    connection,
    peer,
    close: () => {
      peer.destroy();
      ours.destroy();
      tcp.close();
    },
  };
}

/** Read frames from `socket` until a close frame; `ended` resolves at the socket's end (FIN). */
function closeFrameFrom(socket: Socket, masked: boolean): Promise<{ frames: DecodedFrame[]; ended: Promise<unknown> }> {
  const ended = once(socket, 'end');
  let buffered = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      const { frames } = masked ? decodeFrames(buffered) : parseServerFrames(buffered);
      if (!frames.some((f) => f.opcode === OP.CLOSE)) return;
      socket.off('data', onData);
      socket.resume(); // keep reading (to the FIN)
      resolve({ frames, ended });
    };
    socket.on('data', onData);
    ended.then(() => reject(new Error('the socket ended without a close frame')), () => {});
  });
}

for (const role of ['server', 'client'] as const) {
  describe(`an extension that throws, ${role} role, over a real socket`, () => {
    it('decoding a message: the connection fails with 1011 and reports an InternalError on \'error\'', T, async () => {
      const extension = faultyExtension('decode');
      const { connection, peer, close } = await socketPair(role, extension);
      try {
        const errors: Error[] = [];
        connection.on('error', (error) => errors.push(error));
        const answer = closeFrameFrom(peer, role === 'client');
        // A "compressed" message (RSV1, which the extension owns), masked if the peer is a client (§5.1).
        peer.write(frame({ opcode: OP.TEXT, payload: 'any payload', rsv: RSV1, mask: role === 'server' }));
        const { frames, ended } = await answer;
        assert.deepEqual(frames.map((f) => f.opcode), [OP.CLOSE]);
        const { code, reason } = parseClosePayload(frames[0].payload);
        assert.deepEqual([code, reason], [1011, 'internal error'], 'the peer learns nothing of our internals');
        await ended; // failing the connection: TCP is closed at once (§7.1.7), in both roles
        peer.end();
        const info = await connection.closed;
        assert.ok(info.error instanceof InternalError, String(info.error));
        assert.equal((info.error.cause as Error).message, 'decoder bug');
        assert.deepEqual([info.code, info.wasClean, info.initiator, info.sent], [1006, false, 'local', { code: 1011, reason: 'internal error' }]);
        assert.deepEqual(errors, [info.error]);
        assert.equal(extension.released, true);
      } finally {
        close();
      }
    });

    it('encoding a message sent by the application: send() does not throw, the connection fails with 1011', T, async () => {
      const { connection, peer, close } = await socketPair(role, faultyExtension('encode'));
      try {
        const errors: Error[] = [];
        connection.on('error', (error) => errors.push(error));
        const answer = closeFrameFrom(peer, role === 'client');
        connection.send('to be compressed');
        const { frames } = await answer;
        assert.deepEqual(frames.map((f) => f.opcode), [OP.CLOSE], 'the message is not sent');
        assert.equal(parseClosePayload(frames[0].payload).code, 1011);
        peer.end();
        const info = await connection.closed;
        assert.equal((info.error?.cause as Error).message, 'encoder bug');
        assert.equal(errors[0], info.error);
      } finally {
        close();
      }
    });
  });
}

describe('listeners that throw, through the server, over a real socket', () => {
  let server: WebSocketServer;
  let url: string;
  const consoleErrors: unknown[][] = [];
  const realConsoleError = console.error;
  const closedInfos: Array<Promise<unknown>> = [];

  before(async () => {
    server = createServer({ host: '127.0.0.1' }, (ws) => {
      closedInfos.push(ws.closed);
      ws.on('message', (message) => {
        if (String(message) === 'throw') throw new Error('message listener bug');
      });
      ws.on('error', () => {
        throw new Error('connection error listener bug');
      });
    });
    const { port } = await server.listen(0);
    url = `ws://127.0.0.1:${port}`;
    console.error = (...args: unknown[]) => void consoleErrors.push(args);
  });
  after(async () => {
    console.error = realConsoleError;
    await server.close();
  });

  async function closeSeenBy(client: WebSocket): Promise<[number, string]> {
    const [code, reason] = (await once(client, 'close')) as [number, Buffer];
    return [code, reason.toString()];
  }

  it('a message listener throws and so does the server\'s error listener: 1011 to the peer, stderr gets the second error', T, async () => {
    const reported: unknown[] = [];
    const reporter = (error: unknown): void => {
      reported.push(error);
      throw new Error('server error listener bug');
    };
    server.on('error', reporter);
    try {
      const client = new WebSocket(url);
      await once(client, 'open');
      const closed = closeSeenBy(client);
      client.send('throw');
      assert.deepEqual(await closed, [1011, 'internal error']);
      assert.equal((reported[0] as Error).message, 'message listener bug');
      assert.ok(
        consoleErrors.some((args) => args.some((a) => a instanceof Error && a.message === 'server error listener bug')),
        'the error listener\'s own error went to stderr',
      );
      assert.equal(closedInfos.length, 1);
      const info = (await closedInfos[0]) as { error: InternalError | null; sent: unknown };
      assert.ok(info.error instanceof InternalError);
      assert.equal(info.error.cause, reported[0]);
      assert.deepEqual(info.sent, { code: 1011, reason: 'internal error' });
    } finally {
      server.off('error', reporter);
    }
  });

  it('the connection\'s error listener throws while a protocol error is reported: the peer still gets 1002', T, async () => {
    const client = new WebSocket(url);
    await once(client, 'open');
    const closed = closeSeenBy(client);
    client.on('error', () => {}); // ws reports our close as an error on its side, maybe
    // A reserved opcode (0x3), written under ws's feet on its socket.
    (client as unknown as { _socket: Socket })._socket.write(frame({ opcode: 0x3, payload: 'x', mask: true }));
    const [code] = await closed;
    assert.equal(code, 1002);
    assert.equal(closedInfos.length, 2);
    const info = (await closedInfos[1]) as { error: { code: string } | null };
    assert.equal(info.error?.code, 'WS_ERR_RESERVED_OPCODE');
  });
});
