/**
 * Error types. Every failure carries a stable string `code`, and what it maps
 * to on the wire: a close code for faults after the handshake, an HTTP status
 * for faults during it. Remote faults (the peer broke a rule) and local faults
 * (this program misused the API) are different classes, so callers can tell
 * "log and move on" from "fix your code".
 */
import { CloseCode } from './framing/close-codes.js';
import type { CloseInfo } from './protocol/close-state.js';

/** Base class of every error this library throws or reports. */
export class WebSocketError extends Error {
  /** Stable identifier, e.g. `WS_ERR_RESERVED_OPCODE`; safe to switch on. */
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
    this.code = code;
  }
}

/**
 * The peer broke a rule after the handshake. The connection is failed with
 * `closeCode` (§7.1.7 "Fail the WebSocket Connection"), and the parser discards
 * whatever input follows.
 */
export class ProtocolError extends WebSocketError {
  /** Close code sent to the peer: 1002, 1007, 1009, ... */
  readonly closeCode: number;
  /**
   * Where the broken rule is: a section of RFC 6455 (`5.2`), or, for an
   * extension's rule, the RFC and section (`RFC 7692 §6`). `citeSection()`
   * writes either as a citation.
   */
  readonly rfcSection: string;

  constructor(code: string, closeCode: number, rfcSection: string, message: string) {
    super(code, message);
    this.closeCode = closeCode;
    this.rfcSection = rfcSection;
  }
}

/**
 * Something on our side failed while handling the connection: a bug, an
 * extension that threw, an event listener or handler that threw. The
 * connection is failed with 1011 (§7.4.1: "a server is terminating the
 * connection because it encountered an unexpected condition"; a client uses
 * it the same way), the peer is told only "internal error", and `cause` is
 * what was thrown.
 */
export class InternalError extends WebSocketError {
  /** Always 1011 (Internal Error). */
  readonly closeCode: number = CloseCode.INTERNAL_ERROR;
  /** §7.4.1 (1011); RFC 7692 §7.2.1 for a compression that failed. */
  readonly rfcSection: string;

  /**
   * `code`: `WS_ERR_INTERNAL` (something threw: a bug, an extension, a
   * listener) or `WS_ERR_COMPRESSION_FAILED` (zlib failed to compress one
   * of our messages); both are ours, not the peer's fault.
   */
  constructor(cause: unknown, code: 'WS_ERR_INTERNAL' | 'WS_ERR_COMPRESSION_FAILED' = 'WS_ERR_INTERNAL') {
    super(code, `${code === 'WS_ERR_INTERNAL' ? 'internal error' : 'compressing a message failed'}: ${cause instanceof Error ? cause.message : String(cause)}`, { cause });
    this.rfcSection = code === 'WS_ERR_INTERNAL' ? '7.4.1' : 'RFC 7692 §7.2.1';
  }
}

/** Why we failed a connection (§7.1.7): the peer broke a rule, or something of ours broke. */
export type ConnectionFailure = ProtocolError | InternalError;

/** `5.2` → `RFC 6455 §5.2`; a section of another RFC names its RFC already (`RFC 7692 §6`). */
export function citeSection(rfcSection: string): string {
  return rfcSection.startsWith('RFC ') ? rfcSection : `RFC 6455 §${rfcSection}`;
}

/**
 * The opening handshake failed (the peer's request was unacceptable, or a
 * hook rejected it). Answered with an HTTP response of `status`, then the
 * socket is closed.
 */
export class HandshakeError extends WebSocketError {
  /** HTTP status of the rejection: 400, 403, 404, 405, 426, 431, ... */
  readonly status: number;
  /** Extra response headers, e.g. `Sec-WebSocket-Version: 13` with a 426. */
  readonly headers: Readonly<Record<string, string>>;

  constructor(code: string, status: number, message: string, headers: Record<string, string> = {}) {
    super(code, message);
    this.status = status;
    this.headers = headers;
  }
}

/** This program misused the API (a bad argument, a call in the wrong state). */
export class LocalError extends WebSocketError {}

/**
 * A send, ping or close was attempted on a connection that is closing or
 * closed. Handlers that end with this error are treated as having finished
 * normally: the peer went away, which is not a bug.
 */
export class ConnectionClosedError extends LocalError {
  /** Close code of the connection (1006 if it ended without a handshake). */
  readonly closeCode: number;
  readonly reason: string;
  /** How the connection ended (or stands), when known: set on the errors receive() rejects with. */
  readonly info: CloseInfo | undefined;

  constructor(closeCode: number = CloseCode.ABNORMAL_CLOSURE, reason = '', info?: CloseInfo) {
    super('WS_ERR_CONNECTION_CLOSED', `WebSocket connection is closed (${closeCode}${reason ? ` ${reason}` : ''})`);
    this.closeCode = closeCode;
    this.reason = reason;
    this.info = info;
  }
}
