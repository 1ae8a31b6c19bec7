/**
 * What the protocol core asks of a negotiated extension (RFC 6455 §9).
 *
 * An extension here transforms whole messages — permessage-deflate (RFC 7692)
 * is the one the library implements — and owns RSV bits: a message it
 * transformed carries `rsvBits` on its first frame. The core knows nothing
 * else about it: it lets those bits through the frame parser, hands such
 * messages to decode() once assembled, asks shouldEncode()/encode() for each
 * message it sends, and calls release() when the connection ends. Negotiation
 * (parsing the offer, answering it) happens before the core exists, in the
 * handshake.
 */
import type { InternalError, ProtocolError } from '../errors.js';

/**
 * How an extension hands back work it finished off the event loop: the
 * transformed payload, or the ProtocolError that the input deserved (1007,
 * 1009...). Called exactly once, never synchronously from encode()/decode().
 */
export type ExtensionCallback = (error: ProtocolError | InternalError | null, output: Buffer | null) => void;

/** What the protocol core asks of a negotiated extension (§9): the RSV bits it owns, and the transform of whole messages both ways. */
export interface MessageExtension {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits marking a transformed message (0x4 = RSV1). */
  readonly rsvBits: number;
  /** Whether to transform an outgoing message of `size` bytes (false: send it as it is). */
  shouldEncode(size: number): boolean;
  /**
   * Transform an outgoing message payload; the result is sent with `rsvBits`
   * set. Cheap work is done at once and returned; expensive work runs off
   * the event loop: then encode() returns undefined and `done` receives the
   * result later. The caller starts no other encode() before that.
   */
  encode(payload: Uint8Array, done: ExtensionCallback): Buffer | undefined;
  /**
   * Undo the transform of an incoming message whose first frame had
   * `rsvBits`. The result must not exceed `maxSize` bytes: fail with
   * ProtocolError (1009) as soon as it would; invalid input: ProtocolError.
   * Like encode(): returns the result, or throws, when done at once; returns
   * undefined when the work runs off the event loop and `done` will report.
   * The caller starts no other decode() before that.
   */
  decode(payload: Uint8Array, maxSize: number, done: ExtensionCallback): Buffer | undefined;
  /**
   * Optional. The largest payload a message of `size` bytes can have once
   * transformed by a peer. The frames of a transformed message are checked
   * against this bound of the frame and message limits, not the limits
   * themselves (which count the message as decode() returns it), so that a
   * message at the limit passes whichever way it is sent. Absent: the
   * transform never makes a message larger.
   */
  maxEncodedSize?(size: number): number;
  /** The connection ended: drop any state; work still under way reports nothing. */
  release(): void;
}
