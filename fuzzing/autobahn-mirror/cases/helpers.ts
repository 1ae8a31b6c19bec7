/** Small constructors that keep the case tables close to one line per fact. */
import type { CaseEvent, ExpectedClose, Step } from '../case-types.js';
import { toBytes } from '../wire.js';

export const NORMAL = 1000;
export const PROTOCOL_ERROR = 1002;
export const INVALID_PAYLOAD = 1007;

/** We close after the expected echo; the server must answer and drop TCP in time. */
export const CLEAN_NORMAL_CLOSE: ExpectedClose = { closedByMe: true, closeCode: [NORMAL], requireClean: true };

/** The server must fail the connection itself, with this code (or with no code). */
export function serverFails(code: number, extra: Partial<ExpectedClose> = {}): ExpectedClose {
  return { closedByMe: false, closeCode: [code], requireClean: false, ...extra };
}

export const text = (payload: Buffer | string): CaseEvent => ({ type: 'message', payload: toBytes(payload), binary: false });
export const binary = (payload: Buffer | string): CaseEvent => ({ type: 'message', payload: toBytes(payload), binary: true });
export const pong = (payload: Buffer | string = ''): CaseEvent => ({ type: 'pong', payload: toBytes(payload) });
export const timeout = (tag: string): CaseEvent => ({ type: 'timeout', tag });

export const bytes = (hex: string): Buffer => Buffer.from(hex.replace(/\s+/g, ''), 'hex');

type FrameExtras = { fin?: boolean; rsv?: number; chop?: number; chopDelayMs?: number; sync?: boolean; repeatTo?: number };

export function frame(opcode: number, payload: Buffer | string = '', extras: FrameExtras = {}): Step {
  return { do: 'frame', opcode, payload, ...extras };
}

export const killAfter = (seconds: number): Step => ({ do: 'killAfter', seconds });
export const closeAfter = (seconds: number): Step => ({ do: 'closeAfter', seconds });
export const wait = (seconds: number, tag?: string): Step => (tag === undefined ? { do: 'wait', seconds } : { do: 'wait', seconds, tag });
