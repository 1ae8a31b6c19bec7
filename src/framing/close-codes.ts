/**
 * Close status codes (RFC 6455 §7.4.1, and the IANA "WebSocket Close Code
 * Number" registry that §11.7 creates).
 *
 * Codes marked NEVER ON THE WIRE are reserved for reporting a condition locally
 * (§7.4.1: "MUST NOT be set as a status code in a Close control frame").
 */
export const CloseCode = {
  /** The purpose for which the connection was established has been fulfilled. */
  NORMAL: 1000,
  /** The endpoint is going away: server shutting down, browser leaving the page. */
  GOING_AWAY: 1001,
  /** The peer broke a rule of the protocol. */
  PROTOCOL_ERROR: 1002,
  /** A data type the endpoint cannot accept (e.g. binary to a text-only endpoint). */
  UNSUPPORTED_DATA: 1003,
  /** NEVER ON THE WIRE. No status code was present in the peer's close frame. */
  NO_STATUS_RECEIVED: 1005,
  /** NEVER ON THE WIRE. The connection closed without a closing handshake. */
  ABNORMAL_CLOSURE: 1006,
  /** A text message (or close reason) was not valid UTF-8 (§8.1). */
  INVALID_PAYLOAD: 1007,
  /** A message violated the endpoint's policy (generic; e.g. origin or rate limits). */
  POLICY_VIOLATION: 1008,
  /** A message or frame was too big to process. */
  MESSAGE_TOO_BIG: 1009,
  /** Client only: the server did not negotiate an extension the client requires. */
  MANDATORY_EXTENSION: 1010,
  /** The server hit an unexpected condition (an exception in a handler). */
  INTERNAL_ERROR: 1011,
  /** IANA registry: the service is restarting; the client may reconnect. */
  SERVICE_RESTART: 1012,
  /** IANA registry: temporary overload; try again later. */
  TRY_AGAIN_LATER: 1013,
  /** IANA registry: a gateway or proxy got an invalid response upstream. */
  BAD_GATEWAY: 1014,
  /** NEVER ON THE WIRE. The TLS handshake failed. */
  TLS_HANDSHAKE: 1015,
} as const;

export type CloseCode = (typeof CloseCode)[keyof typeof CloseCode];

/**
 * May `code` appear in a close frame? (§7.4.1, §7.4.2, IANA registry)
 *
 * - 0–999: "not used"; 1004, 1005, 1006, 1015: reserved or local-only;
 * - 1000–1003, 1007–1014: defined by the RFC or registered with IANA;
 * - 1016–2999: reserved for future revisions of the protocol, not yet assigned;
 * - 3000–3999: registered by libraries and frameworks; 4000–4999: private use.
 *
 * Deliberate choice: 1012–1014 are accepted because IANA has registered them
 * (the RFC's own list stops at 1011). Autobahn's case 7.9.x agrees.
 */
export function isValidWireCloseCode(code: number): boolean {
  if (code >= 3000 && code <= 4999) return true;
  if (code < 1000 || code > 1014) return false;
  return code !== 1004 && code !== 1005 && code !== 1006;
}

const CLOSE_CODE_NAMES: Record<number, string> = {
  1000: 'OK',
  1001: 'going away',
  1002: 'protocol error',
  1003: 'unsupported data',
  1005: 'no status received',
  1006: 'abnormal closure',
  1007: 'invalid payload',
  1008: 'policy violation',
  1009: 'message too big',
  1010: 'mandatory extension',
  1011: 'internal error',
  1012: 'service restart',
  1013: 'try again later',
  1014: 'bad gateway',
  1015: 'TLS handshake',
};

/** Readable form for logs: `1000 (OK)`, `4001 (private use)`. */
export function describeCloseCode(code: number): string {
  const name =
    CLOSE_CODE_NAMES[code] ??
    (code >= 4000 && code <= 4999 ? 'private use' : code >= 3000 && code <= 3999 ? 'registered' : 'unknown');
  return `${code} (${name})`;
}
