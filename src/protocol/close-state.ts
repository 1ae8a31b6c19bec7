/**
 * How a connection ends (RFC 6455 §7), as one value: the phase of the
 * closing handshake, who started it, the close frame each side sent, and the
 * error if we failed the connection. The protocol core holds one CloseState
 * and moves it only through the transitions below; what the transport must
 * do (transportActionFor) and what the application is told (closeInfoOf) are
 * read from it, for both roles.
 *
 *   ACTIVE ──we send close──▶ CLOSED_BY_US ──peer's close──▶ CLOSE_ACKNOWLEDGED
 *     │                                                         ▲
 *     └────peer's close──▶ CLOSED_BY_PEER ──we answer───────────┘
 *   ACTIVE, CLOSED_BY_US, CLOSED_BY_PEER ──we fail the connection (§7.1.7)──▶ FAILED
 *   any phase ──end of input, or the transport is gone──▶ TERMINATED
 *
 * (The phases follow tungstenite's Active | ClosedByUs | ClosedByPeer |
 * CloseAcknowledged | Terminated, with FAILED added: a failed connection
 * sends its close frame but does not wait for the peer's.)
 */
import { CloseCode } from '../framing/close-codes.js';
import type { ConnectionFailure } from '../errors.js';

/** The phases of the closing handshake (§7), as in the diagram above. */
export const ClosePhase = {
  /** No close frame either way: messages flow. */
  ACTIVE: 'active',
  /** We sent a close frame first (§7.1.2) and wait for the peer's; its messages are still delivered. */
  CLOSED_BY_US: 'closed-by-us',
  /** The peer's close frame came first (§7.1.3); our answer is owed (§5.5.1: "MUST send a Close frame in response"). */
  CLOSED_BY_PEER: 'closed-by-peer',
  /** Both close frames are exchanged: the closing handshake is complete (§7.1.4 "cleanly"); only TCP is left to close. */
  CLOSE_ACKNOWLEDGED: 'close-acknowledged',
  /** We failed the connection (§7.1.7): our close frame carries the error's code, the rest of the input is discarded, TCP closes now. */
  FAILED: 'failed',
  /** The peer's input ended (TCP FIN) or the transport is gone: nothing more is sent or received. */
  TERMINATED: 'terminated',
} as const;

export type ClosePhase = (typeof ClosePhase)[keyof typeof ClosePhase];

/** A close frame, as sent or received: its status code (1005 when it carried none, §7.1.5) and reason. */
export interface CloseFrameInfo {
  readonly code: number;
  readonly reason: string;
}

/** Who started to end the connection. */
export type CloseInitiator = 'local' | 'remote';

/** Where the closing handshake of one connection stands; moved only by the transitions below. */
export interface CloseState {
  readonly phase: ClosePhase;
  /**
   * Who started: 'local' if we sent the first close frame, failed the
   * connection or dropped it; 'remote' if the peer's close frame came first
   * or its TCP ended first (or the transport vanished); null while ACTIVE.
   */
  readonly initiator: CloseInitiator | null;
  /** The close frame we sent, or committed to send right after the messages queued before it. */
  readonly sent: CloseFrameInfo | null;
  /** The peer's close frame, once it arrived. */
  readonly received: CloseFrameInfo | null;
  /** Why we failed the connection, if we did. */
  readonly error: ConnectionFailure | null;
}

/** A connection that has just opened. */
export const ACTIVE_STATE: CloseState = Object.freeze({ phase: ClosePhase.ACTIVE, initiator: null, sent: null, received: null, error: null });

// ---------------------------------------------------------------- transitions
// Each returns the next state; an event that does not apply in a phase
// (a second close of ours, anything after TERMINATED) leaves it unchanged.

/** We send a close frame: first (§7.1.2), or as the answer §5.5.1 requires. */
export function sendCloseFrame(state: CloseState, frame: CloseFrameInfo): CloseState {
  switch (state.phase) {
    case ClosePhase.ACTIVE:
      return { ...state, phase: ClosePhase.CLOSED_BY_US, initiator: 'local', sent: frame };
    case ClosePhase.CLOSED_BY_PEER:
      return { ...state, phase: ClosePhase.CLOSE_ACKNOWLEDGED, sent: frame };
    default:
      return state;
  }
}

/** The peer's close frame arrived (§7.1.3: "The WebSocket Closing Handshake is Started" if we had not). */
export function receiveCloseFrame(state: CloseState, frame: CloseFrameInfo): CloseState {
  switch (state.phase) {
    case ClosePhase.ACTIVE:
      return { ...state, phase: ClosePhase.CLOSED_BY_PEER, initiator: 'remote', received: frame };
    case ClosePhase.CLOSED_BY_US:
      return { ...state, phase: ClosePhase.CLOSE_ACKNOWLEDGED, received: frame };
    default:
      return state;
  }
}

/**
 * We fail the connection (§7.1.7) for `error`; `sent` is the close frame that
 * goes out (the one already sent, or one with the error's code). Once the
 * closing handshake is complete there is nothing left to fail.
 */
export function failConnection(state: CloseState, error: ConnectionFailure, sent: CloseFrameInfo | null): CloseState {
  switch (state.phase) {
    case ClosePhase.ACTIVE:
    case ClosePhase.CLOSED_BY_US:
    case ClosePhase.CLOSED_BY_PEER:
      return { ...state, phase: ClosePhase.FAILED, initiator: state.initiator ?? 'local', sent, error };
    default:
      return state;
  }
}

/**
 * The connection is over for the transport: we dropped it (`by` 'local'), or
 * the peer's TCP ended or the transport closed under us ('remote'). Keeps
 * who started, if someone had.
 */
export function terminate(state: CloseState, by: CloseInitiator): CloseState {
  if (state.phase === ClosePhase.TERMINATED) return state;
  return { ...state, phase: ClosePhase.TERMINATED, initiator: state.initiator ?? by };
}

// ------------------------------------------------------------ what follows

/** What the transport must do with TCP now. */
export const TransportAction = {
  /** Keep reading and writing. */
  KEEP_OPEN: 'keep-open',
  /** Our close frame is out: keep reading until the peer's answers it, but at most the close timeout (§7.1.2, §7.1.3). */
  AWAIT_CLOSE_FRAME: 'await-close-frame',
  /**
   * Write what is queued, then close TCP (half-close: send FIN) and drop the
   * socket if the peer has not closed its side within the close timeout.
   * A server after the closing handshake (§7.1.1: "the server ... SHOULD
   * close the underlying TCP connection first"); either role once it failed
   * the connection (§7.1.7) or the input ended.
   */
  CLOSE_NOW: 'close-now',
  /**
   * A client after the closing handshake: §7.1.1 "the client SHOULD wait for
   * the server to close the connection but MAY close the connection at any
   * time after sending and receiving a Close message, e.g., if it has not
   * received a TCP Close from the server in a reasonable time period": wait
   * for the server's FIN, at most the close timeout, then close.
   */
  AWAIT_PEER_CLOSE: 'await-peer-close',
} as const;

export type TransportAction = (typeof TransportAction)[keyof typeof TransportAction];

/** What the transport must do with TCP now, for this role (§7.1.1: the server closes TCP first; a client waits for it). */
export function transportActionFor(state: CloseState, role: 'server' | 'client'): TransportAction {
  switch (state.phase) {
    case ClosePhase.ACTIVE:
    case ClosePhase.CLOSED_BY_PEER: // (our answer is owed: writing goes on)
      return TransportAction.KEEP_OPEN;
    case ClosePhase.CLOSED_BY_US:
      return TransportAction.AWAIT_CLOSE_FRAME;
    case ClosePhase.CLOSE_ACKNOWLEDGED:
      return role === 'server' ? TransportAction.CLOSE_NOW : TransportAction.AWAIT_PEER_CLOSE;
    case ClosePhase.FAILED:
    case ClosePhase.TERMINATED:
      return TransportAction.CLOSE_NOW;
  }
}

/** How a connection ended, as the application is told ('close' event, `closed` promise). */
export interface CloseInfo {
  /**
   * As a browser's CloseEvent.code (§7.1.5 "The WebSocket Connection Close
   * Code"): the code of the peer's close frame, 1005 if it carried none,
   * 1006 if none arrived (TCP closed without one, or we failed the
   * connection: then `sent` and `error` say why).
   */
  code: number;
  /** As CloseEvent.reason: the reason in the peer's close frame, '' if none arrived (§7.1.6). */
  reason: string;
  /** As CloseEvent.wasClean: both close frames were exchanged and we did not fail the connection (§7.1.4). */
  wasClean: boolean;
  /** Who started to end it ('none' only while the connection is still open). */
  initiator: CloseInitiator | 'none';
  /** The close frame we sent, if we sent one: with our 1009 when a message was too big, our 1000 when the application closed. */
  sent: CloseFrameInfo | null;
  /** The close frame the peer sent, if it arrived. */
  received: CloseFrameInfo | null;
  /** If we failed the connection: the rule the peer broke (ProtocolError) or our own failure (InternalError). */
  error: ConnectionFailure | null;
}

/** What the application is told about how the connection ended: the code, the reason, whether it was clean (§7.1.5, §7.1.6). */
export function closeInfoOf(state: CloseState): CloseInfo {
  const { sent, received, error } = state;
  return {
    code: received !== null ? received.code : CloseCode.ABNORMAL_CLOSURE,
    reason: received !== null ? received.reason : '',
    wasClean: sent !== null && received !== null && error === null,
    initiator: state.initiator ?? 'none',
    sent,
    received,
    error,
  };
}
