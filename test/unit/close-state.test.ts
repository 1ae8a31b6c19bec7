/**
 * The close state (src/protocol/close-state.ts): every transition of the
 * pure state machine, what the transport must do in each phase for each role,
 * what the application is told; then the protocol core driven through each
 * path of the closing handshake in both roles (§5.5.1, §7.1), in memory.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InternalError, ProtocolError } from '../../src/errors.js';
import type { MessageExtension } from '../../src/extensions/extension.js';
import {
  ACTIVE_STATE,
  ClosePhase,
  TransportAction,
  closeInfoOf,
  failConnection,
  receiveCloseFrame,
  sendCloseFrame,
  terminate,
  transportActionFor,
  type CloseState,
} from '../../src/protocol/close-state.js';
import { protocolError } from '../../src/protocol/error-codes.js';
import { ReadyState } from '../../src/protocol/ready-state.js';
import { OP, RSV1, clientFrame, closeBody, closeOf, describeFrame, endpoint, serverFrame, takeFrames, type Endpoint } from '../helpers/protocol-harness.js';

const ours = { code: 1000, reason: 'bye' };
const theirs = { code: 1001, reason: 'going away' };
const peerFault = protocolError('WS_ERR_RESERVED_OPCODE', 'reserved opcode 0x3');

// The reachable states, each with the path that reaches it.
const byUs = sendCloseFrame(ACTIVE_STATE, ours);
const byPeer = receiveCloseFrame(ACTIVE_STATE, theirs);
const acknowledgedByUs = receiveCloseFrame(byUs, theirs);
const acknowledgedByPeer = sendCloseFrame(byPeer, { code: 1001, reason: '' });
const failed = failConnection(ACTIVE_STATE, peerFault, { code: 1002, reason: 'reserved opcode 0x3' });
const terminated = terminate(ACTIVE_STATE, 'remote');

describe('close state: transitions (tungstenite Active | ClosedByUs | ClosedByPeer | CloseAcknowledged, plus Failed, Terminated)', () => {
  it('ACTIVE: our close → CLOSED_BY_US (we started); theirs → CLOSED_BY_PEER (they started)', () => {
    assert.deepEqual(ACTIVE_STATE, { phase: 'active', initiator: null, sent: null, received: null, error: null });
    assert.deepEqual(byUs, { phase: 'closed-by-us', initiator: 'local', sent: ours, received: null, error: null });
    assert.deepEqual(byPeer, { phase: 'closed-by-peer', initiator: 'remote', sent: null, received: theirs, error: null });
  });

  it('CLOSED_BY_US + the peer\'s close, CLOSED_BY_PEER + our answer → CLOSE_ACKNOWLEDGED, keeping who started', () => {
    assert.deepEqual(acknowledgedByUs, { phase: 'close-acknowledged', initiator: 'local', sent: ours, received: theirs, error: null });
    assert.deepEqual(acknowledgedByPeer, { phase: 'close-acknowledged', initiator: 'remote', sent: { code: 1001, reason: '' }, received: theirs, error: null });
  });

  it('failing: from ACTIVE, CLOSED_BY_US and CLOSED_BY_PEER → FAILED with the error and the close frame that went out', () => {
    assert.deepEqual(failed, { phase: 'failed', initiator: 'local', sent: { code: 1002, reason: 'reserved opcode 0x3' }, received: null, error: peerFault });
    const internal = new InternalError(new Error('bug'));
    // Our close was out already: it stays the one we sent.
    assert.deepEqual(failConnection(byUs, internal, ours), { phase: 'failed', initiator: 'local', sent: ours, received: null, error: internal });
    // The peer started; our (held) answer became the failure's close frame.
    const sent = { code: 1011, reason: 'internal error' };
    assert.deepEqual(failConnection(byPeer, internal, sent), { phase: 'failed', initiator: 'remote', sent, received: theirs, error: internal });
  });

  it('terminating: from every phase → TERMINATED; who started is kept, else it is whoever ended it', () => {
    assert.deepEqual(terminate(ACTIVE_STATE, 'local'), { ...ACTIVE_STATE, phase: 'terminated', initiator: 'local' });
    assert.deepEqual(terminate(ACTIVE_STATE, 'remote'), { ...ACTIVE_STATE, phase: 'terminated', initiator: 'remote' });
    for (const state of [byUs, byPeer, acknowledgedByUs, acknowledgedByPeer, failed]) {
      for (const by of ['local', 'remote'] as const) {
        assert.deepEqual(terminate(state, by), { ...state, phase: 'terminated' }, `${state.phase} by ${by}`);
      }
    }
  });

  it('events that do not apply leave the state as it is (a second close, anything after the handshake or the end)', () => {
    const unchanged: Array<[string, CloseState, (s: CloseState) => CloseState]> = [
      ['our second close', byUs, (s) => sendCloseFrame(s, { code: 4000, reason: '' })],
      ['a second close from the peer', byPeer, (s) => receiveCloseFrame(s, { code: 4000, reason: '' })],
      ['our close after the handshake', acknowledgedByUs, (s) => sendCloseFrame(s, ours)],
      ['their close after the handshake', acknowledgedByPeer, (s) => receiveCloseFrame(s, theirs)],
      ['failing after the handshake', acknowledgedByUs, (s) => failConnection(s, peerFault, null)],
      ['our close after failing', failed, (s) => sendCloseFrame(s, ours)],
      ['their close after failing', failed, (s) => receiveCloseFrame(s, theirs)],
      ['failing twice', failed, (s) => failConnection(s, new InternalError('again'), null)],
      ['our close after the end', terminated, (s) => sendCloseFrame(s, ours)],
      ['their close after the end', terminated, (s) => receiveCloseFrame(s, theirs)],
      ['failing after the end', terminated, (s) => failConnection(s, peerFault, null)],
      ['terminating twice', terminated, (s) => terminate(s, 'local')],
    ];
    for (const [name, state, event] of unchanged) assert.equal(event(state), state, name);
  });

  it('what the transport does, per phase and role (§7.1.1: the server closes TCP first; §7.1.7: failing closes at once)', () => {
    const expected: Array<[CloseState, string, string]> = [
      [ACTIVE_STATE, 'keep-open', 'keep-open'],
      [byUs, 'await-close-frame', 'await-close-frame'],
      [byPeer, 'keep-open', 'keep-open'],
      [acknowledgedByUs, 'close-now', 'await-peer-close'],
      [acknowledgedByPeer, 'close-now', 'await-peer-close'],
      [failed, 'close-now', 'close-now'],
      [terminated, 'close-now', 'close-now'],
    ];
    for (const [state, server, client] of expected) {
      assert.equal(transportActionFor(state, 'server'), server, `server, ${state.phase}`);
      assert.equal(transportActionFor(state, 'client'), client, `client, ${state.phase}`);
    }
  });

  it('what the application is told: the browser\'s code, reason and wasClean, plus who started, both frames and our error', () => {
    assert.deepEqual(closeInfoOf(terminate(acknowledgedByUs, 'remote')), { code: 1001, reason: 'going away', wasClean: true, initiator: 'local', sent: ours, received: theirs, error: null });
    assert.deepEqual(closeInfoOf(terminate(acknowledgedByPeer, 'remote')), { code: 1001, reason: 'going away', wasClean: true, initiator: 'remote', sent: { code: 1001, reason: '' }, received: theirs, error: null });
    // Our close never answered: 1006 (§7.1.5), not clean, but what we sent is known.
    assert.deepEqual(closeInfoOf(terminate(byUs, 'local')), { code: 1006, reason: '', wasClean: false, initiator: 'local', sent: ours, received: null, error: null });
    // We failed: 1006 like a browser, and the code we sent and why.
    assert.deepEqual(closeInfoOf(terminate(failed, 'remote')), { code: 1006, reason: '', wasClean: false, initiator: 'local', sent: { code: 1002, reason: 'reserved opcode 0x3' }, received: null, error: peerFault });
    assert.deepEqual(closeInfoOf(terminated), { code: 1006, reason: '', wasClean: false, initiator: 'remote', sent: null, received: null, error: null });
    assert.equal(closeInfoOf(ACTIVE_STATE).initiator, 'none');
  });

  it('every phase is reached by the states above', () => {
    const reached = new Set([ACTIVE_STATE, byUs, byPeer, acknowledgedByUs, acknowledgedByPeer, failed, terminated].map((s) => s.phase));
    assert.deepEqual([...reached].sort(), Object.values(ClosePhase).sort());
  });
});

// --- the core, both roles ----------------------------------------------------

type Role = 'server' | 'client';
/** A frame from the peer of `role`: masked if we are the server (§5.1). */
const fromPeer = (role: Role, opcode: number, payload: string | Uint8Array = '', extra: { rsv?: number; fin?: boolean } = {}): Buffer =>
  role === 'server' ? clientFrame(opcode, payload, extra) : serverFrame(opcode, payload, extra);
const ep = (role: Role, options: Parameters<typeof endpoint>[0] = {}): Endpoint => endpoint({ role, logger: null, ...options });

for (const role of ['server', 'client'] as const) {
  describe(`close state in the core, ${role} role`, () => {
    it('we close first: CLOSED_BY_US (await the close frame); the answer completes the handshake', () => {
      const { protocol } = ep(role);
      assert.equal(protocol.transportAction, TransportAction.KEEP_OPEN);
      protocol.sendClose(1000, 'bye');
      assert.deepEqual(takeFrames(protocol).map(describeFrame), ['CLOSE 1000 "bye"']);
      assert.equal(protocol.closeState.phase, ClosePhase.CLOSED_BY_US);
      assert.equal(protocol.readyState, ReadyState.CLOSING);
      assert.equal(protocol.transportAction, TransportAction.AWAIT_CLOSE_FRAME);
      protocol.receiveData(fromPeer(role, OP.CLOSE, closeBody(1000, 'ok')));
      assert.equal(protocol.closeState.phase, ClosePhase.CLOSE_ACKNOWLEDGED);
      assert.equal(protocol.transportAction, role === 'server' ? TransportAction.CLOSE_NOW : TransportAction.AWAIT_PEER_CLOSE);
      assert.deepEqual(takeFrames(protocol), [], 'no second close frame');
      protocol.transportClosed();
      assert.equal(protocol.readyState, ReadyState.CLOSED);
      assert.deepEqual(protocol.closeInfo, { code: 1000, reason: 'ok', wasClean: true, initiator: 'local', sent: { code: 1000, reason: 'bye' }, received: { code: 1000, reason: 'ok' }, error: null });
    });

    it('the peer closes first: our echo goes out at once (§5.5.1) and the handshake is complete', () => {
      const { protocol, listener } = ep(role);
      protocol.receiveData(fromPeer(role, OP.CLOSE, closeBody(4001, 'done')));
      assert.deepEqual(listener.events, [{ type: 'close', code: 4001, reason: 'done' }]);
      assert.deepEqual(takeFrames(protocol).map(describeFrame), ['CLOSE 4001 ""']);
      assert.equal(protocol.closeState.phase, ClosePhase.CLOSE_ACKNOWLEDGED);
      assert.equal(protocol.transportAction, role === 'server' ? TransportAction.CLOSE_NOW : TransportAction.AWAIT_PEER_CLOSE);
      protocol.receiveEof();
      assert.deepEqual(protocol.closeInfo, { code: 4001, reason: 'done', wasClean: true, initiator: 'remote', sent: { code: 4001, reason: '' }, received: { code: 4001, reason: 'done' }, error: null });
    });

    it('an empty close from the peer: 1005 both ways in the record, an empty frame on the wire', () => {
      const { protocol } = ep(role);
      protocol.receiveData(fromPeer(role, OP.CLOSE));
      assert.deepEqual(takeFrames(protocol).map((f) => f.payload.length), [0]);
      assert.deepEqual([protocol.closeInfo.code, protocol.closeInfo.sent, protocol.closeInfo.wasClean], [1005, { code: 1005, reason: '' }, true]);
    });

    it('the peer breaks a rule: FAILED, our close carries the code, TCP closes now, the application sees our code and the error', () => {
      const { protocol, listener } = ep(role);
      protocol.receiveData(fromPeer(role, 0x3, 'x'));
      assert.equal(protocol.closeState.phase, ClosePhase.FAILED);
      assert.equal(protocol.transportAction, TransportAction.CLOSE_NOW);
      const error = protocol.closeState.error;
      assert.ok(error instanceof ProtocolError && error.code === 'WS_ERR_RESERVED_OPCODE');
      assert.equal(listener.errors[0], error);
      const [close] = takeFrames(protocol);
      assert.equal(closeOf(close).code, 1002);
      protocol.transportClosed();
      const info = protocol.closeInfo;
      assert.deepEqual([info.code, info.wasClean, info.initiator, info.sent?.code, info.received, info.error], [1006, false, 'local', 1002, null, error]);
    });

    it('a message over maxMessageSize: our own 1009 is in the close info (not just 1006)', () => {
      const { protocol } = ep(role, { maxMessageSize: 10 });
      protocol.receiveData(Buffer.concat([fromPeer(role, OP.BINARY, 'x'.repeat(6), { fin: false }), fromPeer(role, OP.CONT, 'x'.repeat(5))]));
      protocol.receiveEof();
      const info = protocol.closeInfo;
      assert.equal(info.code, 1006, 'as a browser reports it');
      assert.equal(info.sent?.code, 1009);
      assert.match(info.sent!.reason, /exceeds the limit of 10 bytes/);
      assert.equal(info.error?.code, 'WS_ERR_MESSAGE_TOO_BIG');
      assert.equal(info.error?.closeCode, 1009);
    });

    it('fail() after our close (no answer yet): FAILED, our first close frame stays the one sent, nothing more is written', () => {
      const { protocol } = ep(role);
      protocol.sendClose(1000);
      takeFrames(protocol);
      const stalled = protocolError('WS_ERR_SEND_STALLED', 'send stalled');
      protocol.fail(stalled);
      assert.deepEqual(takeFrames(protocol), []);
      assert.deepEqual(protocol.closeState, { phase: 'failed', initiator: 'local', sent: { code: 1000, reason: '' }, received: null, error: stalled });
      assert.equal(protocol.transportAction, TransportAction.CLOSE_NOW);
    });

    it('fail() after the closing handshake changes nothing', () => {
      const { protocol } = ep(role);
      protocol.receiveData(fromPeer(role, OP.CLOSE, closeBody(1000)));
      const before = protocol.closeState;
      protocol.fail(new InternalError('late'));
      assert.equal(protocol.closeState, before);
      assert.equal(protocol.closeInfo.wasClean, true);
    });

    it('the peer\'s TCP ends without a close frame: TERMINATED, started by the peer, 1006, not clean', () => {
      const { protocol } = ep(role);
      protocol.receiveEof();
      assert.equal(protocol.readyState, ReadyState.CLOSED);
      assert.deepEqual(protocol.closeInfo, { code: 1006, reason: '', wasClean: false, initiator: 'remote', sent: null, received: null, error: null });
    });

    it('we terminate without a closing handshake: started by us, 1006, not clean', () => {
      const { protocol } = ep(role);
      protocol.terminate();
      assert.equal(protocol.transportAction, TransportAction.CLOSE_NOW);
      assert.deepEqual(protocol.closeInfo, { code: 1006, reason: '', wasClean: false, initiator: 'local', sent: null, received: null, error: null });
    });

    it('a listener that throws while input is processed: FAILED with an InternalError (1011), never thrown to the transport', () => {
      const { protocol, listener } = ep(role);
      const bug = new Error('listener bug');
      listener.onText = () => {
        throw bug;
      };
      assert.doesNotThrow(() => protocol.receiveData(fromPeer(role, OP.TEXT, 'hello')));
      assert.deepEqual(takeFrames(protocol).map(describeFrame), ['CLOSE 1011 "internal error"'], 'the peer learns nothing of our internals');
      const error = protocol.closeState.error;
      assert.ok(error instanceof InternalError);
      assert.equal(error.cause, bug);
      assert.equal(error.closeCode, 1011);
      assert.deepEqual(listener.internalErrors, [error]);
      assert.equal(protocol.transportAction, TransportAction.CLOSE_NOW);
    });

    it('an extension that throws, receiving or sending: FAILED with an InternalError (1011)', () => {
      const faulty = (where: 'decode' | 'encode'): MessageExtension => ({
        name: 'faulty',
        rsvBits: RSV1,
        shouldEncode: () => true,
        encode: (payload) => {
          if (where === 'encode') throw new TypeError('encoder bug');
          return Buffer.from(payload);
        },
        decode: (payload) => {
          if (where === 'decode') throw new TypeError('decoder bug');
          return Buffer.from(payload);
        },
        release: () => {},
      });
      const receiving = ep(role, { extension: faulty('decode') });
      assert.doesNotThrow(() => receiving.protocol.receiveData(fromPeer(role, OP.TEXT, 'compressed?', { rsv: RSV1 })));
      assert.equal((receiving.protocol.closeState.error?.cause as Error).message, 'decoder bug');
      assert.equal(closeOf(takeFrames(receiving.protocol).at(-1)!).code, 1011);

      const sending = ep(role, { extension: faulty('encode') });
      assert.doesNotThrow(() => sending.protocol.sendText('to compress'));
      assert.equal((sending.protocol.closeState.error?.cause as Error).message, 'encoder bug');
      assert.deepEqual(takeFrames(sending.protocol).map(describeFrame), ['CLOSE 1011 "internal error"']);
      assert.equal(sending.listener.internalErrors.length, 1);
    });
  });
}
