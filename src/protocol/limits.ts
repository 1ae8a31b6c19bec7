/**
 * Limits on what a peer may make us hold, with their defaults. Every limit is
 * checked against a declared length before anything is buffered (§10.4: "a
 * server ... should impose limits on frame sizes and the total message size
 * after reassembly").
 */
export interface MessageLimits {
  /** Largest message after reassembly, in bytes. Over it: close 1009. */
  maxMessageSize: number;
  /** Largest payload of a single frame, in bytes. Over it: close 1009 as soon as the header is read. */
  maxFrameSize: number;
  /** Most frames one message may be split into. Over it: close 1009. */
  maxFragments: number;
  /**
   * A message larger than this many bytes arrives as a MessageStream (its
   * chunks as they come, in bounded memory) instead of whole. Default
   * Infinity: never. maxMessageSize still bounds streamed messages: raise it
   * to receive larger ones; messages up to this size are still assembled
   * whole. Compressed (permessage-deflate) messages are never streamed: with
   * streaming on they are refused (1009) above this size.
   */
  streamMessagesAbove: number;
}

/** The default message limits, the same for the server and the client. */
export const DEFAULT_MESSAGE_LIMITS: Readonly<MessageLimits> = Object.freeze({
  // 16 MiB: the largest message the Autobahn|Testsuite sends (cases 9.1.6,
  // 9.2.6). Memory grows with bytes received, not with what headers claim.
  maxMessageSize: 16 * 1024 * 1024,
  maxFrameSize: 16 * 1024 * 1024,
  // A 16 MiB message in 64-byte fragments. Fragments cost no per-fragment
  // memory (see MessageBuffer); the limit bounds the work one message can
  // cause with empty or tiny fragments.
  maxFragments: 262_144,
  streamMessagesAbove: Infinity,
});
