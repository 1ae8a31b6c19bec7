/** Connection states, numbered as in the WHATWG WebSocket API (`readyState`). */
export const ReadyState = {
  /** The opening handshake is under way. */
  CONNECTING: 0,
  /** Messages may be sent and received. */
  OPEN: 1,
  /** A close frame was sent or received; the closing handshake is under way (§7.1.2–7.1.3). */
  CLOSING: 2,
  /** The TCP connection is closed (§7.1.4), or the core expects it to be. */
  CLOSED: 3,
} as const;

export type ReadyState = (typeof ReadyState)[keyof typeof ReadyState];
