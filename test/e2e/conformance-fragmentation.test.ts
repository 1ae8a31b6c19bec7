/**
 * RFC 6455 §5.4 fragmentation over real sockets (Autobahn group 5).
 *
 * "Control frames MAY be injected in the middle of a fragmented message."
 * "Control frames themselves MUST NOT be fragmented."
 * "The fragments of one message MUST NOT be interleaved between the fragments
 * of another message unless an extension has been negotiated."
 */
import { after, afterEach, before, describe, it } from 'node:test';
import { setTimeout as delay } from 'node:timers/promises';

import { OP, binary, close, cont, frame, ping, pong, seededBytes, text } from '../helpers/frames.js';
import { TestServer } from '../helpers/raw-client.js';

/** Split `payload` into `n` nearly equal fragments: TEXT/BINARY, then CONT…, the last with FIN. */
function fragments(opcode: number, payload: Buffer, n: number): Buffer[] {
  const out: Buffer[] = [];
  const step = Math.ceil(payload.length / n);
  for (let i = 0; i < n; i++) {
    const piece = payload.subarray(i * step, (i + 1) * step);
    out.push(frame({ opcode: i === 0 ? opcode : OP.CONT, fin: i === n - 1, payload: piece }));
  }
  return out;
}

describe('RFC 6455 fragmentation (§5.4)', () => {
  let ts: TestServer;
  before(async () => {
    ts = await TestServer.start();
  });
  afterEach(() => ts?.dropClients());
  after(() => ts?.stop());

  describe('data messages are reassembled', () => {
    for (const n of [2, 3, 10, 100]) {
      it(`text in ${n} fragments is echoed as one message`, async () => {
        const c = await ts.connect();
        const message = `fragmented text message in ${n} parts `.repeat(4);
        c.send(Buffer.concat(fragments(OP.TEXT, Buffer.from(message), n)));
        await c.expectText(message);
      });

      it(`binary in ${n} fragments is echoed as one message`, async () => {
        const c = await ts.connect();
        const message = seededBytes(400, n);
        c.send(Buffer.concat(fragments(OP.BINARY, message, n)));
        await c.expectBinary(message);
      });
    }

    it('fragments arriving in separate TCP writes are reassembled', async () => {
      const c = await ts.connect();
      const parts = fragments(OP.TEXT, Buffer.from('one two three four'), 4);
      for (const part of parts) {
        c.send(part);
        await delay(5);
      }
      await c.expectText('one two three four');
    });

    it('a fragmented message dribbled 1 byte per TCP write is reassembled', async () => {
      const c = await ts.connect();
      await c.sendChunks(Buffer.concat(fragments(OP.BINARY, seededBytes(40, 3), 3)), 1, 1);
      await c.expectBinary(seededBytes(40, 3));
    });

    it('empty fragments: TEXT "" (FIN=0), CONT "" (FIN=0), CONT "" (FIN=1) is one empty message', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('', { fin: false }), cont('', { fin: false }), cont('', { fin: true })]));
      await c.expectText('');
    });

    it('empty fragments between non-empty ones do not change the message', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([binary(Buffer.alloc(0), { fin: false }), cont('ab', { fin: false }), cont('', { fin: false }), cont('cd')]));
      await c.expectBinary(Buffer.from('abcd'));
    });

    it('two fragmented messages back to back are echoed separately, in order', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([...fragments(OP.TEXT, Buffer.from('first message'), 3), ...fragments(OP.BINARY, Buffer.from('second'), 2)]));
      await c.expectText('first message');
      await c.expectBinary(Buffer.from('second'));
    });
  });

  describe('control frames between fragments', () => {
    it('a ping between fragments is answered BEFORE the message completes', async () => {
      const c = await ts.connect();
      c.send(text('Hello, ', { fin: false }));
      c.send(ping('in the middle'));
      // The final fragment has not been sent: the pong must already be here.
      await c.expectPong('in the middle');
      c.send(cont('World!'));
      await c.expectText('Hello, World!');
    });

    it('pings after each of several fragments are each answered before the final fragment is sent', async () => {
      const c = await ts.connect();
      c.send(binary(Buffer.from('a'), { fin: false }));
      for (let i = 0; i < 3; i++) {
        c.send(ping(`p${i}`));
        await c.expectPong(`p${i}`);
        c.send(cont(String(i), { fin: false }));
      }
      await c.expectNoFrame(30, 'the message is not finished yet');
      c.send(cont('z'));
      await c.expectBinary(Buffer.from('a012z'));
    });

    it('fragments and pings all in one TCP write: pongs first, then the message', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('fra', { fin: false }), ping('1'), cont('gme', { fin: false }), ping('2'), cont('nted')]));
      await c.expectPong('1');
      await c.expectPong('2');
      await c.expectText('fragmented');
    });

    it('an unsolicited pong between fragments is ignored and the message is echoed', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('pong ', { fin: false }), pong('unsolicited'), cont('ignored')]));
      await c.expectText('pong ignored');
    });
  });

  describe('illegal fragmentation fails the connection with 1002', () => {
    it('a fragmented ping (FIN=0 on PING)', async () => {
      const c = await ts.connect();
      c.send(ping('frag', { fin: false }));
      await c.expectFail(1002);
    });

    it('a fragmented ping followed by a continuation', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([ping('fr', { fin: false }), cont('ag')]));
      await c.expectFail(1002);
    });

    it('a fragmented pong (FIN=0 on PONG)', async () => {
      const c = await ts.connect();
      c.send(pong('frag', { fin: false }));
      await c.expectFail(1002);
    });

    it('a fragmented close (FIN=0 on CLOSE)', async () => {
      const c = await ts.connect();
      c.send(close(1000, '', { fin: false }));
      await c.expectFail(1002);
    });

    it('a fragmented ping in the middle of a fragmented text message', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('a', { fin: false }), ping('x', { fin: false }), cont('b')]));
      await c.expectFail(1002);
    });

    it('a continuation (FIN=1) with no message started', async () => {
      const c = await ts.connect();
      c.send(cont('nothing to continue'));
      await c.expectFail(1002);
    });

    it('a continuation (FIN=0) with no message started', async () => {
      const c = await ts.connect();
      c.send(cont('nothing to continue', { fin: false }));
      await c.expectFail(1002);
    });

    it('a continuation right after a complete message (the message is echoed first)', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('complete'), cont('stray')]));
      await c.expectText('complete');
      await c.expectFail(1002);
    });

    it('a new TEXT frame while a fragmented text message is open', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('open', { fin: false }), text('new message')]));
      await c.expectFail(1002);
    });

    it('a new BINARY frame while a fragmented text message is open', async () => {
      const c = await ts.connect();
      c.send(Buffer.concat([text('open', { fin: false }), binary(Buffer.from('new'), { fin: false })]));
      await c.expectFail(1002);
    });

    it('a new TEXT frame while a fragmented binary message is open, in a later write', async () => {
      const c = await ts.connect();
      c.send(binary(Buffer.from('open'), { fin: false }));
      c.send(ping('sync'));
      await c.expectPong('sync');
      c.send(text('interleaved'));
      await c.expectFail(1002);
    });
  });
});
