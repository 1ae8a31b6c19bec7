/**
 * Strict, incremental UTF-8 validation (RFC 3629 §4), as RFC 6455 §8.1 requires
 * for the payload of text messages and for close reasons:
 *
 *   "When an endpoint is to interpret a byte stream as UTF-8 but finds that
 *    the byte stream is not, in fact, a valid UTF-8 stream, that endpoint MUST
 *    _Fail the WebSocket Connection_."
 *
 * A text message reaches us in pieces (fragments, then TCP reads inside each
 * fragment), so the validator keeps one small integer of state between write()
 * calls and fails at the first byte that no continuation could make valid:
 * `ED A0` fails at A0, `F4 90` at 90, `E0 80` at 80, `C0` at once. A sequence
 * merely cut short by the end of a write() is not an error; it is finished (or
 * not) by the next write(), and isComplete() tells whether the message ended on
 * a code point boundary.
 *
 * Performance notes (this runs on every byte of every text frame):
 * - The core is a DFA: a 256-entry byte → class table and a small
 *   state × class → state table, with states pre-multiplied by the class count
 *   so one step is two loads and an add.
 * - While the DFA is at a boundary, ASCII is skipped four bytes at a time
 *   (OR of four bytes, test bit 7); see step() for why not more often.
 * - Long ranges go to Node's `buffer.isUtf8` (simdutf, as strict as this
 *   table), once the DFA has finished any character the previous write() left
 *   open. isUtf8 cannot say "valid but cut short", so the range is split
 *   before the lead byte of its last sequence: native checks the head, the DFA
 *   the last ≤ 3 bytes, and the state carries over as usual. If native says
 *   no, the DFA re-runs the range (the connection is about to be failed
 *   anyway, so speed there does not matter).
 * - No allocation, except the view handed to isUtf8 (it takes no offsets)
 *   when the range is not the whole array.
 *
 * Figures (bench/utf8.ts) are in bench/RESULTS.md, "UTF-8 validation".
 */
import { isUtf8 } from 'node:buffer';
import { LocalError } from '../errors.js';

/**
 * Ranges of at least this many bytes, starting at a code point boundary, are
 * handed to `buffer.isUtf8` when the native accelerator is allowed: past it,
 * its flat call cost beats the JS DFA's cost per byte (bench/RESULTS.md,
 * "UTF-8 validation": 128 lies between the crossovers for ASCII and for
 * non-Latin text, leaning toward ASCII, as most WebSocket text is JSON).
 */
export const UTF8_NATIVE_THRESHOLD = 128;

// ---------------------------------------------------------------------------
// Character classes. RFC 3629 §4 gives the syntax of a UTF-8 character:
//
//   UTF8-1    = %x00-7F
//   UTF8-2    = %xC2-DF UTF8-tail
//   UTF8-3    = %xE0 %xA0-BF UTF8-tail / %xE1-EC 2( UTF8-tail ) /
//               %xED %x80-9F UTF8-tail / %xEE-EF 2( UTF8-tail )
//   UTF8-4    = %xF0 %x90-BF 2( UTF8-tail ) / %xF1-F3 3( UTF8-tail ) /
//               %xF4 %x80-8F 2( UTF8-tail )
//   UTF8-tail = %x80-BF
//
// Every byte value falls in one of the classes below; bytes in a class are
// interchangeable for every rule of that grammar.
// ---------------------------------------------------------------------------

/** 00–7F: a whole character (UTF8-1). */
const ASCII = 0;
/** 80–8F: a tail byte; also the only second byte allowed after F4 (≤ U+10FFFF). */
const TAIL_80_8F = 1;
/** 90–9F: a tail byte; allowed after ED (below the surrogates) and after F0. */
const TAIL_90_9F = 2;
/** A0–BF: a tail byte; the only second byte allowed after E0 (not overlong). */
const TAIL_A0_BF = 3;
/** C2–DF: starts a 2-byte sequence. */
const LEAD2 = 4;
/** E0: starts a 3-byte sequence whose second byte is A0–BF (rejects overlongs < U+0800). */
const LEAD3_E0 = 5;
/** E1–EC, EE–EF: starts a 3-byte sequence with any second tail byte. */
const LEAD3 = 6;
/** ED: starts a 3-byte sequence whose second byte is 80–9F (rejects surrogates U+D800–DFFF). */
const LEAD3_ED = 7;
/** F0: starts a 4-byte sequence whose second byte is 90–BF (rejects overlongs < U+10000). */
const LEAD4_F0 = 8;
/** F1–F3: starts a 4-byte sequence with any second tail byte. */
const LEAD4 = 9;
/** F4: starts a 4-byte sequence whose second byte is 80–8F (rejects > U+10FFFF). */
const LEAD4_F4 = 10;
/** C0, C1 (only overlong 2-byte forms), F5–FF (beyond U+10FFFF or never UTF-8). */
const NEVER = 11;

const CLASS_COUNT = 12;

/** Class of each byte value. */
const BYTE_CLASS = new Uint8Array(256);
function setClass(from: number, to: number, cls: number): void {
  for (let b = from; b <= to; b++) BYTE_CLASS[b] = cls;
}
setClass(0x00, 0x7f, ASCII);
setClass(0x80, 0x8f, TAIL_80_8F);
setClass(0x90, 0x9f, TAIL_90_9F);
setClass(0xa0, 0xbf, TAIL_A0_BF);
setClass(0xc0, 0xc1, NEVER);
setClass(0xc2, 0xdf, LEAD2);
setClass(0xe0, 0xe0, LEAD3_E0);
setClass(0xe1, 0xec, LEAD3);
setClass(0xed, 0xed, LEAD3_ED);
setClass(0xee, 0xef, LEAD3);
setClass(0xf0, 0xf0, LEAD4_F0);
setClass(0xf1, 0xf3, LEAD4);
setClass(0xf4, 0xf4, LEAD4_F4);
setClass(0xf5, 0xff, NEVER);

// ---------------------------------------------------------------------------
// States. Each value is pre-multiplied by CLASS_COUNT so that a step is
// `TRANSITION[state + BYTE_CLASS[byte]]`, with no multiply on the hot path.
// ---------------------------------------------------------------------------

// ACCEPT < REJECT < every "inside a sequence" state: write() relies on this
// order (`state > REJECT` means "inside a sequence").

/** At a code point boundary: everything so far is complete and valid. */
const ACCEPT = 0 * CLASS_COUNT;
/** An invalid byte was seen. Absorbing: every class leads back here. */
const REJECT = 1 * CLASS_COUNT;
/** One more tail byte (80–BF) ends the sequence. */
const NEED1 = 2 * CLASS_COUNT;
/** Two more tail bytes. */
const NEED2 = 3 * CLASS_COUNT;
/** Three more tail bytes (after F1–F3). */
const NEED3 = 4 * CLASS_COUNT;
/** After E0: the next byte must be A0–BF, then one tail. */
const AFTER_E0 = 5 * CLASS_COUNT;
/** After ED: the next byte must be 80–9F, then one tail. */
const AFTER_ED = 6 * CLASS_COUNT;
/** After F0: the next byte must be 90–BF, then two tails. */
const AFTER_F0 = 7 * CLASS_COUNT;
/** After F4: the next byte must be 80–8F, then two tails. */
const AFTER_F4 = 8 * CLASS_COUNT;

const STATE_COUNT = 9;

/** Next state for (state + class). Any pair not listed below goes to REJECT. */
const TRANSITION = new Uint8Array(STATE_COUNT * CLASS_COUNT).fill(REJECT);
function on(state: number, classes: readonly number[], next: number): void {
  for (const cls of classes) TRANSITION[state + cls] = next;
}
const ANY_TAIL = [TAIL_80_8F, TAIL_90_9F, TAIL_A0_BF] as const;

// At a boundary: one ASCII byte is a whole character; a lead byte opens a
// sequence; a tail byte here is a stray continuation, C0/C1/F5–FF never occur.
on(ACCEPT, [ASCII], ACCEPT);
on(ACCEPT, [LEAD2], NEED1);
on(ACCEPT, [LEAD3], NEED2);
on(ACCEPT, [LEAD4], NEED3);
on(ACCEPT, [LEAD3_E0], AFTER_E0);
on(ACCEPT, [LEAD3_ED], AFTER_ED);
on(ACCEPT, [LEAD4_F0], AFTER_F0);
on(ACCEPT, [LEAD4_F4], AFTER_F4);
// Inside a sequence only tail bytes are allowed; anything else (ASCII, a new
// lead byte) means the previous sequence was truncated.
on(NEED1, ANY_TAIL, ACCEPT);
on(NEED2, ANY_TAIL, NEED1);
on(NEED3, ANY_TAIL, NEED2);
// The four lead bytes whose second byte is restricted (RFC 3629 §4 table).
on(AFTER_E0, [TAIL_A0_BF], NEED1); // E0 80–9F would be overlong (< U+0800)
on(AFTER_ED, [TAIL_80_8F, TAIL_90_9F], NEED1); // ED A0–BF would be a surrogate
on(AFTER_F0, [TAIL_90_9F, TAIL_A0_BF], NEED2); // F0 80–8F would be overlong (< U+10000)
on(AFTER_F4, [TAIL_80_8F], NEED2); // F4 90–BF would be above U+10FFFF

/**
 * Run the DFA over bytes[i, end) from `state`. Returns the state after the
 * last byte, or REJECT once a byte has been rejected.
 *
 * HOT PATH (every byte of every text frame goes through here below the native
 * threshold), shaped by bench/utf8.ts (figures in bench/RESULTS.md):
 * - At a boundary, ASCII is skipped 4 bytes per test (`(b0|b1|b2|b3) & 0x80`).
 * - Otherwise the DFA runs a block of up to 32 bytes with no branch but the
 *   loop's own: REJECT is absorbing, so it is tested once per block rather than
 *   once per byte. Testing for ASCII at every boundary instead (after each
 *   2–4-byte character) was several times slower on non-Latin text: which byte
 *   starts a character is unpredictable to the branch predictor.
 * The failure is still reported by the write() holding the first bad byte:
 * within one call, reading a few bytes past it changes nothing observable.
 * Keep it monomorphic (Uint8Array/Buffer only) and allocation-free.
 */
function step(state: number, bytes: Uint8Array, i: number, end: number): number {
  const table = TRANSITION;
  const classes = BYTE_CLASS;
  while (i < end) {
    if (state === ACCEPT) {
      const last4 = end - 3;
      while (i < last4 && ((bytes[i] | bytes[i + 1] | bytes[i + 2] | bytes[i + 3]) & 0x80) === 0) i += 4;
    }
    const blockEnd = end - i > 32 ? i + 32 : end;
    for (; i < blockEnd; i++) state = table[state + classes[bytes[i]]];
    if (state === REJECT) return REJECT;
  }
  return state;
}

/** Throw (API misuse, not a peer fault) if [start, end) is not a range of `bytes`. */
function checkRange(bytes: Uint8Array, start: number, end: number): void {
  if (!(start >= 0 && start <= end && end <= bytes.length) || !Number.isInteger(start) || !Number.isInteger(end)) {
    throw new LocalError(
      'WS_ERR_INVALID_RANGE',
      `UTF-8 validator: [${start}, ${end}) is not a range of a ${bytes.length}-byte array`,
    );
  }
}

/** `bytes[start, end)` as a typed array, without a copy (and without a new view when it is the whole array). */
function view(bytes: Uint8Array, start: number, end: number): Uint8Array {
  return start === 0 && end === bytes.length ? bytes : new Uint8Array(bytes.buffer, bytes.byteOffset + start, end - start);
}

/**
 * Validate bytes[start, end), starting at a boundary, with `buffer.isUtf8`;
 * returns the DFA state after `end`, like step().
 *
 * isUtf8 only says yes or no, and says no to a range that is valid but cut
 * short, which must carry over instead. So the range is split before the lead
 * byte of a last sequence that may be incomplete: the head goes to isUtf8,
 * the last ≤ 3 bytes to the DFA. If the head is rejected, the DFA re-runs the
 * whole range; that only happens on invalid input, just before the connection
 * is failed.
 */
function stepNative(bytes: Uint8Array, start: number, end: number): number {
  // A sequence cut short has at most 3 bytes (a lead byte and 2 tails), so
  // its lead byte, if any, is among the last 3. Back over tail bytes to find
  // it: bytes[k] is then a lead byte (split before it; a complete 2- or 3-byte
  // character is split off too, harmlessly) or ASCII (no split: the range ends
  // on a boundary or is invalid anyway); if all 3 are tails, the last
  // character is complete (4 bytes) or the range is invalid: no split either.
  let cut = end;
  const floor = end - 3 > start ? end - 3 : start;
  let k = end - 1;
  while (k >= floor && (bytes[k] & 0xc0) === 0x80) k--;
  if (k >= floor && bytes[k] >= 0xc0) cut = k;
  if (!isUtf8(view(bytes, start, cut))) return step(ACCEPT, bytes, start, end);
  return step(ACCEPT, bytes, cut, end);
}

/**
 * Incremental validator for one text message (or one close reason).
 *
 * ```ts
 * const v = new Utf8Validator();
 * v.write(chunk1); v.write(chunk2);   // false → fail the connection with 1007
 * if (!v.isComplete()) ...            // message ended inside a code point → 1007
 * v.reset();                          // ready for the next message
 * ```
 */
export class Utf8Validator {
  /** DFA state (pre-multiplied); ACCEPT at a boundary, REJECT once failed. */
  private state = ACCEPT;
  /** May long ranges go to `buffer.isUtf8`? */
  private readonly native: boolean;

  constructor(options?: { native?: boolean }) {
    this.native = options?.native ?? true;
  }

  /**
   * Feed bytes[start, end). Returns false at the first invalid byte; once
   * failed it stays failed (returns false) until reset(). A sequence truncated
   * at `end` is not a failure: the state carries over to the next write().
   */
  write(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
    checkRange(bytes, start, end);
    let state = this.state;
    if (state === REJECT) return false;

    if (this.native && end - start >= UTF8_NATIVE_THRESHOLD) {
      // Finish a sequence the previous write() left open (at most 3 bytes),
      // so that the rest starts on a boundary and can go to isUtf8. Without
      // this, a long non-Latin message read from TCP in pieces would mostly
      // miss the native path: most reads end in the middle of a character.
      // (end - start >= the threshold, so this loop never reaches `end`.)
      let i = start;
      while (state > REJECT && i < end) state = TRANSITION[state + BYTE_CLASS[bytes[i++]]];
      if (state === ACCEPT) state = stepNative(bytes, i, end);
    } else {
      state = step(state, bytes, start, end);
    }

    this.state = state;
    return state !== REJECT;
  }

  /**
   * True when everything fed so far is valid and ends on a code point boundary
   * (no partial sequence pending). Check it when the text message ends
   * (RFC 6455 §8.1 applies to the whole message, not to each fragment).
   */
  isComplete(): boolean {
    return this.state === ACCEPT;
  }

  /** True once an invalid byte has been seen (sticky until reset()). */
  get failed(): boolean {
    return this.state === REJECT;
  }

  /** Forget everything fed so far: ready for a new message. */
  reset(): void {
    this.state = ACCEPT;
  }
}

/**
 * One-shot check of a complete byte range (fresh state; it must end on a code
 * point boundary). Uses `buffer.isUtf8` for ranges of at least
 * UTF8_NATIVE_THRESHOLD bytes.
 */
export function isValidUtf8(bytes: Uint8Array, start = 0, end: number = bytes.length): boolean {
  checkRange(bytes, start, end);
  // A complete range has no "truncated but fine" outcome, so isUtf8's answer is final.
  if (end - start >= UTF8_NATIVE_THRESHOLD) return isUtf8(view(bytes, start, end));
  return step(ACCEPT, bytes, start, end) === ACCEPT;
}
