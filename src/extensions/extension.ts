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
export interface MessageExtension {
  /** The extension token, e.g. `permessage-deflate`. */
  readonly name: string;
  /** The RSV bits marking a transformed message (0x4 = RSV1). */
  readonly rsvBits: number;
  /** Whether to transform an outgoing message of `size` bytes (false: send it as it is). */
  shouldEncode(size: number): boolean;
  /** Transform an outgoing message payload; the result is sent with `rsvBits` set. */
  encode(payload: Uint8Array): Buffer;
  /**
   * Undo the transform of an incoming message whose first frame had
   * `rsvBits`. The result must not exceed `maxSize` bytes: throw
   * ProtocolError (1009) as soon as it would. Invalid input: ProtocolError.
   */
  decode(payload: Uint8Array, maxSize: number): Buffer;
  /** The connection ended: drop any state. */
  release(): void;
}
