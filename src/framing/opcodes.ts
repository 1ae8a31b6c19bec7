/**
 * Frame opcodes (RFC 6455 §5.2, §11.8).
 *
 * Opcodes 0x0–0x7 are data frames, 0x8–0xF are control frames (the high bit of
 * the nibble is the control flag). 0x3–0x7 and 0xB–0xF are reserved: a frame
 * carrying one fails the connection with 1002 unless an extension defines it.
 */
export const Opcode = {
  /** Continues a fragmented message started by a TEXT or BINARY frame (§5.4). */
  CONTINUATION: 0x0,
  /** Starts a text message: the payload, once assembled, must be UTF-8 (§5.6). */
  TEXT: 0x1,
  /** Starts a binary message: the payload is opaque bytes (§5.6). */
  BINARY: 0x2,
  /** Starts or answers the closing handshake (§5.5.1). */
  CLOSE: 0x8,
  /** Keep-alive or liveness probe; must be answered with a PONG (§5.5.2). */
  PING: 0x9,
  /** Answer to a PING, or an unsolicited heartbeat (§5.5.3). */
  PONG: 0xa,
} as const;

export type Opcode = (typeof Opcode)[keyof typeof Opcode];

/** §5.5: "Control frames are identified by opcodes where the most significant bit of the opcode is 1." */
export function isControlOpcode(opcode: number): boolean {
  return (opcode & 0x8) !== 0;
}

/** True for the six opcodes RFC 6455 defines; false for reserved 0x3–0x7 and 0xB–0xF. */
export function isKnownOpcode(opcode: number): boolean {
  return opcode <= 0x2 || (opcode >= 0x8 && opcode <= 0xa);
}

const OPCODE_NAMES: Record<number, string> = {
  0x0: 'CONT',
  0x1: 'TEXT',
  0x2: 'BINARY',
  0x8: 'CLOSE',
  0x9: 'PING',
  0xa: 'PONG',
};

/** Readable name for logs: `TEXT`, `PING`, or `RESERVED(0x3)`. */
export function opcodeName(opcode: number): string {
  return OPCODE_NAMES[opcode] ?? `RESERVED(0x${opcode.toString(16)})`;
}
