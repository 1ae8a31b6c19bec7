/**
 * The WebSocket connection as a sans-I/O state machine (RFC 6455 §5–§7).
 *
 * Bytes go in through receiveData()/receiveEof(); what the peer sent comes out
 * as calls on a ProtocolListener; what we must send accumulates in an outbound
 * queue the transport drains with takeOutput(). No sockets, timers or event
 * emitters live here: the server (and client) are thin shells that own those.
 *
 * This file enforces the rules that need message context: continuation
 * frames (§5.4), UTF-8 of text messages checked piece by piece as it arrives
 * (§5.6, §8.1), message size and fragment limits (§10.4), answers to pings
 * (§5.5.2), and the closing handshake (§5.5.1, §7). Per-frame rules live in
 * FrameParser.
 *
 * Ending. How far the closing handshake has gone is one value, `closeState`
 * (close-state.ts: who closed first, each side's close frame, our failure);
 * from it the core says what the transport must do with TCP
 * (`transportAction`, for both roles) and what the application is told
 * (`closeInfo`). Whatever input processing throws fails the connection:
 * a rule the peer broke with its own close code (ProtocolError, codes in
 * error-codes.ts), anything else (a bug, the extension, a listener) with
 * 1011 (InternalError). Nothing is thrown back to the transport.
 *
 * Fair turns. A turn does a bounded amount of work: after `turnBudget`
 * units (a frame is one, a KiB of payload is one, inflated bytes count
 * too), the core stops and keeps the rest of the input (`hasPendingInput`),
 * or says that the turn is spent (`turnSpent`: bytes it discards count too),
 * so that no read full of tiny frames, pings or bulk data holds the event
 * loop; the transport yields and calls resumeInput(), which starts a new
 * turn, on a later turn of the event loop. Likewise a compressed message that the
 * extension inflates off the event loop (`waitingForExtension`) holds back
 * everything after it until onInputReady(): messages stay in order. On the
 * way out, a message compressed off the loop holds back the data frames and
 * the close frame sent after it (control frames go ahead: §5.4 lets them be
 * injected anywhere), and onOutputReady() says when they are queued.
 */
import { CloseCode } from '../framing/close-codes.js';
import { buildClosePayload, parseClosePayload } from '../framing/close-payload.js';
import { FrameParser, type FrameSink } from '../framing/frame-parser.js';
import { COPY_THRESHOLD, FrameWriter } from '../framing/frame-writer.js';
import { randomMaskKey, type MaskKeySource } from '../framing/mask-key.js';
import { Opcode } from '../framing/opcodes.js';
import { ConnectionClosedError, InternalError, LocalError, ProtocolError, citeSection, type ConnectionFailure } from '../errors.js';
import type { ExtensionCallback, MessageExtension } from '../extensions/extension.js';
import { Utf8Validator, isValidUtf8 } from '../utf8/utf8-validator.js';
import { describeFrame, environmentLogger, type FrameLogger } from './frame-log.js';
import {
  ACTIVE_STATE,
  ClosePhase,
  TransportAction,
  closeInfoOf,
  failConnection,
  receiveCloseFrame,
  sendCloseFrame,
  terminate,
  transportActionFor,
  type CloseInfo,
  type CloseState,
} from './close-state.js';
import { WEBSOCKET_ERRORS, protocolError } from './error-codes.js';
import { DEFAULT_MESSAGE_LIMITS, type MessageLimits } from './limits.js';
import { MessageBuffer } from './message-buffer.js';
import { ReadyState } from './ready-state.js';

/** What the peer did, reported as it happens. */
export interface ProtocolListener {
  /** A complete text message (validated UTF-8). */
  onText(text: string): void;
  /** A complete binary message. The buffer is the caller's to keep. */
  onBinary(data: Buffer): void;
  /** A ping arrived; the pong is already queued (unless we are closing). */
  onPing(payload: Buffer): void;
  onPong(payload: Buffer): void;
  /** The peer's close frame arrived (code 1005 if it carried none); our answer is queued. */
  onCloseFrame(code: number, reason: string): void;
  /** The peer broke a rule: a close frame with `error.closeCode` is queued, input is discarded from now on. */
  onProtocolError(error: ProtocolError): void;
  /**
   * Something threw while input was processed (a bug, the extension, a
   * listener method): the connection is failed with 1011 as for a protocol
   * error, and `error.cause` is what was thrown. Must not throw.
   */
  onInternalError(error: InternalError): void;
  /**
   * Work the extension did off the event loop finished, outside any call:
   * input can go on with resumeInput(). (Needed only with an extension that
   * works off the loop, such as permessage-deflate for large messages.)
   */
  onInputReady?(): void;
  /** Output was queued outside any call (a message compressed off the event loop): takeOutput() has it. */
  onOutputReady?(): void;
}

export interface ProtocolOptions extends Partial<MessageLimits> {
  /** A server expects masked frames and sends unmasked ones; a client the reverse (§5.1). */
  role: 'server' | 'client';
  /** Client only: where masking keys come from (default: CSPRNG pool). Inject for deterministic tests. */
  maskKeySource?: MaskKeySource;
  /** The negotiated extension (permessage-deflate), if any: it owns its RSV bits (§9). */
  extension?: MessageExtension | null;
  /** Receives a readable line per message and control frame, both ways (default: stderr if WSRFC_DEBUG is set). */
  logger?: FrameLogger | null;
  /** Work units one receiveData()/resumeInput() call may do before it stops and keeps the rest (default DEFAULT_TURN_BUDGET). */
  turnBudget?: number;
}

/**
 * Default work per call: 1,024 frames. Measured on the bench machine, 1,024
 * one-byte fragments take ~0.3 ms and 1,024 pings (each answered) ~0.6 ms,
 * so no call holds the event loop for more than about a millisecond, while
 * ordinary reads (a few dozen frames) never reach it.
 */
export const DEFAULT_TURN_BUDGET = 1024;

/** Payload bytes (received, or discarded after a close) per work unit. */
const PAYLOAD_BYTES_PER_UNIT = 1024;
/** An inflated message costs one work unit per this many bytes, on top of its frames and payload. */
const INFLATED_BYTES_PER_UNIT = 256;

/** A data frame held back behind a message being compressed off the event loop. */
interface HeldSend {
  opcode: number;
  /** The payload (ours to keep), or a whole frame encoded beforehand (broadcast). */
  payload: Uint8Array;
  fin: boolean;
  /** Compress the payload with the extension first. */
  transform: boolean;
  /** `payload` is a complete pre-encoded frame. */
  encoded: boolean;
  /** `payload` is our copy: a client may mask it in place. */
  owned: boolean;
}

const EMPTY = Buffer.alloc(0);

export class WebSocketProtocol implements FrameSink {
  readonly role: 'server' | 'client';
  private readonly listener: ProtocolListener;
  private readonly parser: FrameParser;
  private readonly maxMessageSize: number;
  /** The message limit for a transformed (compressed) message's own bytes: the extension's bound of maxMessageSize. */
  private readonly maxEncodedMessageSize: number;
  private readonly maxFragments: number;
  /** Encodes our frames (masked for a client, §5.1) and queues them for the transport. */
  private readonly frames: FrameWriter;
  private readonly log: FrameLogger | null;
  private readonly extension: MessageExtension | null;

  /** The closing handshake (§7): phase, who started, each side's close frame, our failure. The only close state there is. */
  private close: CloseState = ACTIVE_STATE;

  // The data message being assembled (opcode 0: none).
  private messageOpcode = 0;
  private messageSize = 0;
  private messageFragments = 0;
  /** The message in progress had the extension's RSV bits on its first frame: its payload is transformed (compressed). */
  private messageCompressed = false;
  private readonly message: MessageBuffer;
  private readonly utf8 = new Utf8Validator();

  // The frame being received.
  private frameOpcode = 0;
  private frameFin = false;
  private frameLength = 0;
  private frameReceived = 0;
  /** A whole unfragmented message that arrived in one piece: delivered without copying. */
  private wholeData: Buffer | null = null;
  private wholeStart = 0;
  private wholeEnd = 0;

  // A control frame's payload (at most 125 bytes, §5.5), possibly split across reads.
  private readonly controlBuffer = Buffer.allocUnsafe(125);
  private controlLength = 0;

  // Input not processed yet: chunks (the first possibly partly consumed) kept
  // when a call used up its budget or waits for the extension.
  private inbox: Buffer[] = [];
  private inboxHead = 0;
  private readonly turnBudget: number;
  private turnWork = 0;
  /** A compressed message is being inflated off the event loop; its result, once there. */
  private decoding = false;
  private decodedOpcode = 0;
  private decoded: { error: ProtocolError | null; output: Buffer | null } | null = null;
  private readonly decodeDone: ExtensionCallback;

  // Output held back behind a message being compressed off the event loop.
  private encoding = false;
  private encodingOpcode = 0;
  private encodingBytes = 0;
  private held: HeldSend[] = [];
  private heldHead = 0;
  private heldBytes = 0;
  /** A close frame to send once the held data frames are out. */
  private heldClose: { code: number | undefined; reason: string } | null = null;
  private readonly encodeDone: ExtensionCallback;

  constructor(listener: ProtocolListener, options: ProtocolOptions) {
    this.role = options.role;
    this.listener = listener;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MESSAGE_LIMITS.maxMessageSize;
    this.maxFragments = options.maxFragments ?? DEFAULT_MESSAGE_LIMITS.maxFragments;
    const maxFrameSize = Math.min(options.maxFrameSize ?? DEFAULT_MESSAGE_LIMITS.maxFrameSize, this.maxMessageSize);
    this.extension = options.extension ?? null;
    // §5.2: RSV bits are a protocol error unless an extension gave them a meaning.
    // A transformed (compressed) message may arrive larger than it will be
    // once decoded: its frames are held to the extension's bound of the
    // limits (the limits count the decoded message, which decode() enforces).
    const encodedSize = this.extension?.maxEncodedSize?.bind(this.extension) ?? ((size: number) => size);
    this.maxEncodedMessageSize = Math.max(encodedSize(this.maxMessageSize), this.maxMessageSize);
    this.parser = new FrameParser(this, {
      role: options.role,
      maxFrameSize,
      maxTransformedFrameSize: encodedSize(maxFrameSize),
      allowedRsv: this.extension !== null ? this.extension.rsvBits : 0,
    });
    this.message = new MessageBuffer(this.maxEncodedMessageSize);
    this.frames = new FrameWriter(options.role === 'client' ? (options.maskKeySource ?? randomMaskKey) : null);
    this.log = options.logger === undefined ? environmentLogger : options.logger;
    this.turnBudget = options.turnBudget ?? DEFAULT_TURN_BUDGET;
    this.decodeDone = (error, output) => this.decodeFinished(error, output);
    this.encodeDone = (error, output) => this.encodeFinished(error, output);
  }

  /** Where the closing handshake stands (see close-state.ts). */
  get closeState(): CloseState {
    return this.close;
  }

  get readyState(): ReadyState {
    const phase = this.close.phase;
    return phase === ClosePhase.ACTIVE ? ReadyState.OPEN : phase === ClosePhase.TERMINATED ? ReadyState.CLOSED : ReadyState.CLOSING;
  }

  /**
   * What the transport must do with TCP now, for this role (§7.1.1: the
   * server closes TCP first; a client waits for it). Ask after every call.
   */
  get transportAction(): TransportAction {
    // Our close frame still waits behind a message being compressed: it must
    // be written before TCP closes (onOutputReady() says when it is queued).
    if (this.heldClose !== null) return TransportAction.KEEP_OPEN;
    return transportActionFor(this.close, this.role);
  }

  /** How the connection ended (or stands): for the application's 'close' event. */
  get closeInfo(): CloseInfo {
    return closeInfoOf(this.close);
  }

  // ---------------------------------------------------------------- input

  /**
   * Bytes from the transport. Events are reported synchronously, in order,
   * up to the turn budget; the rest waits for resumeInput() (see
   * `hasPendingInput`). The chunk becomes the protocol's: payloads are
   * unmasked in place and delivered as views into it, so do not reuse or
   * modify it afterwards.
   */
  receiveData(chunk: Buffer): void {
    if (this.parser.halted) {
      // Discarded (after a close or a failure), but reading it is work too.
      this.turnWork += chunk.length / PAYLOAD_BYTES_PER_UNIT;
      return;
    }
    this.inbox.push(chunk);
    // Input already waiting goes first; this chunk waits behind it.
    if (this.inbox.length - this.inboxHead > 1 || this.decoding) return;
    this.processInbox();
  }

  /**
   * Start a new turn: deliver a message the extension finished, then parse
   * what was kept back, up to a fresh turn budget.
   */
  resumeInput(): void {
    this.beginTurn();
    const decoded = this.decoded;
    if (decoded !== null) {
      this.decoded = null;
      this.decoding = false;
      try {
        if (decoded.error !== null) throw decoded.error;
        this.deliverInflated(this.decodedOpcode, decoded.output!);
      } catch (error) {
        this.failWith(asFailure(error));
        return;
      }
    }
    if (!this.decoding) this.processInbox();
  }

  /** Input is kept back: the transport should stop reading, and call resumeInput() on a later turn (unless waitingForExtension). */
  get hasPendingInput(): boolean {
    return this.inboxHead < this.inbox.length;
  }

  /** The transport starts a new turn of its event loop: the budget is full again (resumeInput() does this too). */
  beginTurn(): void {
    this.turnWork = 0;
  }

  /** This turn's budget is used up: the transport should stop reading and call resumeInput() on a later turn of its event loop. */
  get turnSpent(): boolean {
    return this.turnWork >= this.turnBudget;
  }

  /** A message is being inflated off the event loop: onInputReady() will say when input can go on. */
  get waitingForExtension(): boolean {
    return this.decoding;
  }

  /** Bytes held for messages being received: the message assembled so far, input kept back. */
  get bufferedInputBytes(): number {
    let bytes = this.message.capacity;
    for (let i = this.inboxHead; i < this.inbox.length; i++) bytes += this.inbox[i].length;
    return bytes;
  }

  private processInbox(): void {
    const inbox = this.inbox;
    try {
      while (this.inboxHead < inbox.length && !this.decoding && this.turnWork < this.turnBudget) {
        const chunk = inbox[this.inboxHead];
        const consumed = this.parser.push(chunk);
        if (consumed < chunk.length) inbox[this.inboxHead] = chunk.subarray(consumed);
        else this.inboxHead++;
        if (this.parser.halted) break;
      }
    } catch (error) {
      // A rule the peer broke; or anything else (a bug, the extension, a
      // listener that threw): never into the transport's read loop.
      this.failWith(asFailure(error));
    }
    if (this.inboxHead === inbox.length || this.parser.halted) {
      inbox.length = 0;
      this.inboxHead = 0;
    }
  }

  /** Count work done in this call; past the budget, the parser stops after its current step. */
  private spend(units: number): void {
    this.turnWork += units;
    if (this.turnWork >= this.turnBudget) this.parser.requestStop();
  }

  /**
   * The peer's input ended (TCP FIN). Without its close frame first this is
   * an abnormal closure (§7.1.5: 1006); either way nothing more is received
   * or sent, and the transport closes its side (transportAction).
   */
  receiveEof(): void {
    this.dropInput();
    this.dropHeldSends();
    this.extension?.release();
    this.close = terminate(this.close, 'remote');
  }

  /** Stop parsing and drop every input byte kept. */
  private dropInput(): void {
    this.parser.halt();
    this.message.reset();
    this.inbox.length = 0;
    this.inboxHead = 0;
    this.decoding = false;
    this.decoded = null;
  }

  // ------------------------------------------------------ FrameSink (parser)

  frameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    if (opcode >= Opcode.CLOSE) {
      // Control frames may arrive between the fragments of a message (§5.4):
      // they do not disturb the message being assembled.
      this.frameOpcode = opcode;
      this.frameLength = length;
      this.controlLength = 0;
      this.wholeData = null;
      return;
    }
    if (opcode === Opcode.CONTINUATION) {
      // §5.4: a continuation frame continues a message that was started.
      if (this.messageOpcode === 0) {
        throw protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue');
      }
      // A message extension marks the first frame only: RFC 7692 §6 forbids the
      // "Per-Message Compressed" bit on non-first fragments, and the receiver
      // of one fails the connection.
      if (rsv !== 0) {
        throw protocolError('WS_ERR_RESERVED_BITS', 'reserved bits set on a continuation frame', 'RFC 7692 §6');
      }
    } else {
      // §5.4: the fragments of one message are not interleaved with another's.
      if (this.messageOpcode !== 0) {
        throw protocolError('WS_ERR_EXPECTED_CONTINUATION', `new ${opcode === Opcode.TEXT ? 'TEXT' : 'BINARY'} frame inside a fragmented message`);
      }
      this.messageOpcode = opcode;
      this.messageSize = 0;
      this.messageFragments = 0;
      this.messageCompressed = rsv !== 0; // the parser let through only the extension's bits
      if (opcode === Opcode.TEXT) this.utf8.reset();
    }
    if (++this.messageFragments > this.maxFragments) {
      throw protocolError('WS_ERR_TOO_MANY_FRAGMENTS', `message split into more than ${this.maxFragments} frames`);
    }
    // §10.4: checked against the declared length, before the payload is read.
    const messageLimit = this.messageCompressed ? this.maxEncodedMessageSize : this.maxMessageSize;
    if (this.messageSize + length > messageLimit) {
      throw protocolError(
        'WS_ERR_MESSAGE_TOO_BIG',
        this.messageCompressed
          ? `compressed message exceeds ${messageLimit} bytes, the most a message of ${this.maxMessageSize} bytes compresses to`
          : `message exceeds the limit of ${this.maxMessageSize} bytes`,
      );
    }
    this.frameOpcode = opcode;
    this.frameFin = fin;
    this.frameLength = length;
    this.frameReceived = 0;
    this.wholeData = null;
  }

  /**
   * FrameSink: a data payload piece that will be gathered into the message
   * buffer is unmasked straight into it (one pass instead of unmask + copy).
   * Control frames and a whole unfragmented message arriving in one read are
   * kept in place in the chunk instead (see framePayload).
   */
  payloadDestination(length: number): Buffer | null {
    if (this.frameOpcode >= Opcode.CLOSE || this.arrivesWhole(length)) return null;
    return this.message.reserve(length, this.expectedMessageTotal());
  }

  framePayload(data: Buffer, start: number, end: number): void {
    const opcode = this.frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      if (this.controlLength === 0 && end - start === this.frameLength) {
        this.wholeData = data;
        this.wholeStart = start;
        this.wholeEnd = end;
      } else {
        data.copy(this.controlBuffer, this.controlLength, start, end);
        this.controlLength += end - start;
      }
      return;
    }
    const size = end - start;
    if (this.arrivesWhole(size)) {
      // Fast path: an unfragmented message that arrived in one read.
      // (A whole message at once: checking it in one go is failing as early as possible.)
      if (opcode === Opcode.TEXT && !this.messageCompressed && !isValidUtf8(data, start, end)) throw invalidUtf8();
      this.spend(size / PAYLOAD_BYTES_PER_UNIT);
      this.wholeData = data;
      this.wholeStart = start;
      this.wholeEnd = end;
    } else {
      // §8.1 and Autobahn 6.4: fail on the first invalid byte, fragment by
      // fragment and read by read, not at the end of the message.
      // (Compressed text is checked once inflated, at the end of the message.)
      if (this.messageOpcode === Opcode.TEXT && !this.messageCompressed && !this.utf8.write(data, start, end)) throw invalidUtf8();
      this.spend(size / PAYLOAD_BYTES_PER_UNIT);
      this.message.append(data, start, end, this.expectedMessageTotal());
    }
    this.frameReceived += size;
    this.messageSize += size;
  }

  /** This payload piece is a whole unfragmented message, all in one read. */
  private arrivesWhole(size: number): boolean {
    return this.frameReceived === 0 && size === this.frameLength && this.frameFin && this.frameOpcode !== Opcode.CONTINUATION;
  }

  /** The message's final size when one unfragmented frame carries it, else 0 (unknown). */
  private expectedMessageTotal(): number {
    return this.frameFin && this.messageFragments === 1 ? this.frameLength : 0;
  }

  frameEnd(): void {
    this.spend(1);
    const opcode = this.frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      this.controlFrameEnd(opcode);
      return;
    }
    if (!this.frameFin) return;
    const messageOpcode = this.messageOpcode;
    this.messageOpcode = 0;
    const whole = this.wholeData;
    let message: string | Buffer;
    if (this.messageCompressed) {
      this.messageCompressed = false;
      const compressed = whole !== null ? whole.subarray(this.wholeStart, this.wholeEnd) : this.message.take();
      this.wholeData = null;
      const inflated = this.extension!.decode(compressed, this.maxMessageSize, this.decodeDone);
      if (inflated === undefined) {
        // Inflating off the event loop: nothing after this message is
        // processed until decodeFinished() (messages stay in order).
        this.decoding = true;
        this.decodedOpcode = messageOpcode;
        this.parser.requestStop();
        return;
      }
      this.spend(inflated.length / INFLATED_BYTES_PER_UNIT);
      this.deliverInflated(messageOpcode, inflated);
      return;
    } else if (whole !== null) {
      this.wholeData = null;
      message = messageOpcode === Opcode.TEXT ? whole.toString('utf8', this.wholeStart, this.wholeEnd) : whole.subarray(this.wholeStart, this.wholeEnd);
    } else if (messageOpcode === Opcode.TEXT) {
      // §8.1: a text message must not end inside a UTF-8 sequence.
      if (!this.utf8.isComplete()) throw invalidUtf8();
      message = this.message.takeText();
    } else {
      message = this.message.take();
    }
    if (this.log !== null) this.log(describeFrame('<', messageOpcode, message));
    if (typeof message === 'string') this.listener.onText(message);
    else this.listener.onBinary(message);
  }

  /** Deliver a message the extension inflated (compressed text is checked for UTF-8 here, whole). */
  private deliverInflated(opcode: number, inflated: Buffer): void {
    let message: string | Buffer;
    if (opcode === Opcode.TEXT) {
      if (!isValidUtf8(inflated)) throw invalidUtf8();
      message = inflated.toString('utf8');
    } else {
      message = inflated;
    }
    if (this.log !== null) this.log(describeFrame('<', opcode, message));
    if (typeof message === 'string') this.listener.onText(message);
    else this.listener.onBinary(message);
  }

  /** ExtensionCallback: a message inflated off the event loop. */
  private decodeFinished(error: ProtocolError | null, output: Buffer | null): void {
    if (!this.decoding || this.decoded !== null) return; // the connection ended meanwhile
    this.decoded = { error, output };
    this.listener.onInputReady?.();
  }

  private controlFrameEnd(opcode: number): void {
    let payload: Buffer;
    if (this.wholeData !== null) {
      payload = this.wholeData.subarray(this.wholeStart, this.wholeEnd);
      this.wholeData = null;
    } else {
      payload = this.frameLength === 0 ? EMPTY : Buffer.from(this.controlBuffer.subarray(0, this.controlLength));
    }
    if (this.log !== null) this.log(describeFrame('<', opcode, payload));
    if (opcode === Opcode.PING) {
      // §5.5.2: "Upon receipt of a Ping frame, an endpoint MUST send a Pong frame
      // in response, unless it already received a Close frame", with identical
      // Application data, as soon as is practical. That holds after our own
      // close too, while we wait for the peer's (a pong is a control frame;
      // §5.5.1 forbids only data frames after a close). Once the peer's close
      // arrives, or the connection failed, the parser is halted and no ping
      // gets here.
      if (this.close.received === null) this.encodeBytes(Opcode.PONG, payload, true);
      this.listener.onPing(payload);
    } else if (opcode === Opcode.PONG) {
      // §5.5.3: an unsolicited pong is allowed and needs no answer.
      this.listener.onPong(payload);
    } else {
      this.closeFrameReceived(payload);
    }
  }

  private closeFrameReceived(payload: Buffer): void {
    const { code, reason } = parseClosePayload(payload);
    this.close = receiveCloseFrame(this.close, { code, reason });
    // §1.4/§5.5.1: nothing the peer sends after its close frame is processed
    // (Autobahn 7.1.x sends data after the close; it is ignored).
    this.parser.halt();
    this.message.reset();
    this.messageOpcode = 0;
    if (this.close.phase === ClosePhase.CLOSED_BY_PEER) {
      // §5.5.1: "If an endpoint receives a Close frame and did not previously
      // send a Close frame, the endpoint MUST send a Close frame in response
      // ... typically echo[ing] the status code it received." It "MAY delay
      // sending a Close frame until its current message is sent": a message
      // still being compressed goes first.
      this.closeAfterHeldSends(code === CloseCode.NO_STATUS_RECEIVED ? undefined : code, '');
      this.close = sendCloseFrame(this.close, { code, reason: '' });
    }
    this.listener.onCloseFrame(code, reason);
  }

  /**
   * §7.1.7 "Fail the WebSocket Connection": send a close frame with the
   * error's code (unless ours is already out), stop reading, close TCP. The
   * listener hears of it unless the failure is the transport's own (fail()).
   */
  private failWith(error: ConnectionFailure, tellListener = true): void {
    const phase = this.close.phase;
    if (phase !== ClosePhase.ACTIVE && phase !== ClosePhase.CLOSED_BY_US && phase !== ClosePhase.CLOSED_BY_PEER) return;
    // Our close frame, if already queued (not still held behind a compression, which is dropped below).
    let sent = this.heldClose === null ? this.close.sent : null;
    this.dropInput();
    this.messageOpcode = 0;
    if (this.log !== null) this.log(`! ${error.code} (${citeSection(error.rfcSection)}): ${error.message} → close ${error.closeCode}`);
    // Failing the connection does not wait for messages still being compressed.
    this.dropHeldSends();
    if (sent === null) {
      // The peer learns what rule it broke, but nothing of our internals.
      const reason = isInternal(error) ? 'internal error' : truncateReason(error.message);
      this.queueClose(error.closeCode, reason);
      sent = { code: error.closeCode, reason };
    }
    this.close = failConnection(this.close, error, sent);
    if (!tellListener) return;
    if (error instanceof ProtocolError) this.listener.onProtocolError(error);
    else this.listener.onInternalError(error);
  }

  // --------------------------------------------------------------- output

  /** Queue a text message (one frame). */
  sendText(text: string): void {
    this.assertCanSendData();
    const extension = this.extension;
    // (UTF-16 length × 3 bounds the UTF-8 length: no encoding for short strings.)
    if (extension !== null && extension.shouldEncode(text.length * 3)) {
      const bytes = Buffer.from(text, 'utf8');
      if (extension.shouldEncode(bytes.length)) {
        if (this.log !== null) this.log(describeFrame('>', Opcode.TEXT, text));
        this.sendTransformed(Opcode.TEXT, bytes, true);
        return;
      }
    }
    if (this.holdingSends) {
      this.hold(Opcode.TEXT, Buffer.from(text, 'utf8'), true, false, false, true);
      return;
    }
    this.encodeText(Opcode.TEXT, text, true);
  }

  /** Queue a binary message (one frame). Buffers over 16 KiB are queued by reference: do not modify them until written. */
  sendBinary(data: Uint8Array): void {
    this.assertCanSendData();
    const extension = this.extension;
    if (extension !== null && extension.shouldEncode(data.length)) {
      if (this.log !== null) this.log(describeFrame('>', Opcode.BINARY, data));
      this.sendTransformed(Opcode.BINARY, data, false);
      return;
    }
    if (this.holdingSends) {
      this.hold(Opcode.BINARY, data, true, false, false, false);
      return;
    }
    this.encodeBytes(Opcode.BINARY, data, true);
  }

  /**
   * Queue one frame of a fragmented message (§5.4): the first with TEXT or
   * BINARY, the rest with CONTINUATION, the last with fin = true. The caller
   * keeps the order; text fragments must each be whole UTF-8 here.
   */
  sendFragment(opcode: typeof Opcode.TEXT | typeof Opcode.BINARY | typeof Opcode.CONTINUATION, data: string | Uint8Array, fin: boolean): void {
    this.assertCanSendData();
    if (this.holdingSends) this.hold(opcode, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, fin, false, false, typeof data === 'string');
    else if (typeof data === 'string') this.encodeText(opcode, data, fin);
    else this.encodeBytes(opcode, data, fin);
  }

  /**
   * Queue a complete data frame encoded beforehand with encodeFrame() (server
   * role: unmasked) — a broadcast encodes its frame once for all receivers.
   * The buffer is shared: it must not change afterwards.
   */
  sendEncodedFrame(frame: Buffer): void {
    this.assertCanSendData();
    if (this.role !== 'server') throw new LocalError('WS_ERR_ENCODED_FRAME_ON_CLIENT', 'pre-encoded frames are unmasked: only a server may send them');
    if (this.log !== null) this.log(`> (pre-encoded frame) [${frame.length} bytes]`);
    if (this.holdingSends) this.hold(0, frame, true, false, true, false);
    else this.frames.writeEncodedFrame(frame);
  }

  sendPing(payload: Uint8Array = EMPTY): void {
    this.assertCanSendControl(payload);
    this.encodeBytes(Opcode.PING, payload, true);
  }

  sendPong(payload: Uint8Array = EMPTY): void {
    this.assertCanSendControl(payload);
    this.encodeBytes(Opcode.PONG, payload, true);
  }

  /**
   * Start (or answer) the closing handshake (§7.1.2). Without a code the
   * close frame is empty. Idempotent: a second call does nothing. Data
   * frames still held behind a compression go out first.
   */
  sendClose(code?: number, reason = ''): void {
    if (this.close.phase !== ClosePhase.ACTIVE) return;
    this.closeAfterHeldSends(code, reason);
    this.close = sendCloseFrame(this.close, { code: code ?? CloseCode.NO_STATUS_RECEIVED, reason });
  }

  /**
   * Fail the connection for a reason of the transport's (a policy: the peer
   * does not read; an error of a handler): the close frame carries
   * `error.closeCode`, ahead of any message still being compressed; input is
   * discarded from now on; the transport closes TCP. The listener is not
   * told (the caller knows). Nothing happens once the closing handshake is
   * complete or the connection already failed.
   */
  fail(error: ConnectionFailure): void {
    if (this.close.sent === null) buildClosePayload(error.closeCode); // a LocalError for a code that may not be sent, before anything changes
    this.failWith(error, false);
  }

  /** We drop the connection without a closing handshake (the transport closes TCP at once). */
  terminate(): void {
    this.dropInput();
    this.dropHeldSends();
    this.extension?.release();
    this.close = terminate(this.close, 'local');
  }

  /** The transport closed under us (TCP is gone): nothing more happens. Unless we had started to end it, the peer (or the network) did. */
  transportClosed(): void {
    this.dropInput();
    this.dropHeldSends();
    this.extension?.release();
    this.close = terminate(this.close, 'remote');
  }

  /** Bytes waiting to be written: in the outbound queue, and held behind a compression. */
  get pendingOutputBytes(): number {
    return this.frames.bytes + this.heldBytes + this.encodingBytes;
  }

  /** Everything queued for the transport, in order (usually one buffer). */
  takeOutput(): Buffer[] {
    return this.frames.take();
  }

  // -------------------------------------- output held behind a compression

  /** Data frames must wait: a message is being compressed off the event loop, or others wait already. */
  private get holdingSends(): boolean {
    return this.encoding || this.heldHead < this.held.length;
  }

  /** Compress and queue a message, or hold it in line if it must wait. */
  private sendTransformed(opcode: number, payload: Uint8Array, owned: boolean): void {
    if (this.holdingSends) this.hold(opcode, payload, true, true, false, owned);
    else this.transformAndQueue(opcode, payload);
  }

  private transformAndQueue(opcode: number, payload: Uint8Array): void {
    const extension = this.extension!;
    let output: Buffer | undefined;
    try {
      output = extension.encode(payload, this.encodeDone);
    } catch (error) {
      // An extension that throws is our fault, not the peer's: 1011. (This
      // may run in a compression callback, where a throw would take the
      // process down.)
      this.failWith(asFailure(error));
      return;
    }
    if (output !== undefined) {
      this.encodeBytes(opcode, output, true, true, extension.rsvBits);
      return;
    }
    // Compressing off the event loop: data frames queue up behind it.
    this.encoding = true;
    this.encodingOpcode = opcode;
    this.encodingBytes = payload.length;
  }

  /** `owned`: the payload is already our own copy (encoded from a string). */
  private hold(opcode: number, payload: Uint8Array, fin: boolean, transform: boolean, encoded: boolean, owned: boolean): void {
    // The caller's small payloads are copied (send() promises as much); large ones are the caller's to leave alone until written.
    const copy = !owned && !encoded && payload.length <= COPY_THRESHOLD;
    this.held.push({ opcode, payload: copy ? Buffer.from(payload) : payload, fin, transform, encoded, owned: owned || copy });
    this.heldBytes += payload.length;
  }

  /** ExtensionCallback: a message compressed off the event loop. */
  private encodeFinished(error: ProtocolError | null, output: Buffer | null): void {
    if (!this.encoding) return; // dropped: the connection failed or ended meanwhile
    this.encoding = false;
    this.encodingBytes = 0;
    if (error !== null) {
      this.failWith(error);
    } else {
      this.encodeBytes(this.encodingOpcode, output!, true, true, this.extension!.rsvBits);
      this.releaseHeldSends();
    }
    this.listener.onOutputReady?.();
  }

  /** Queue the held frames in order, until one has to be compressed off the event loop again. */
  private releaseHeldSends(): void {
    // (this.held, not a copy of it: a failure on the way drops what is held.)
    while (!this.encoding && this.heldHead < this.held.length) {
      const send = this.held[this.heldHead];
      this.held[this.heldHead++] = undefined as unknown as HeldSend;
      this.heldBytes -= send.payload.length;
      if (send.encoded) this.frames.writeEncodedFrame(send.payload);
      else if (send.transform) this.transformAndQueue(send.opcode, send.payload);
      else this.encodeBytes(send.opcode, send.payload, send.fin, send.owned);
    }
    if (this.heldHead === this.held.length) {
      this.held = [];
      this.heldHead = 0;
      const close = this.heldClose;
      if (close !== null && !this.encoding) {
        this.heldClose = null;
        this.queueClose(close.code, close.reason);
      }
    }
  }

  /** Queue a close frame now, or after the data frames held behind a compression. */
  private closeAfterHeldSends(code: number | undefined, reason: string): void {
    if (this.holdingSends) {
      buildClosePayload(code, reason); // a LocalError for a bad code is thrown now, not later
      this.heldClose = { code, reason };
    } else {
      this.queueClose(code, reason);
    }
  }

  /** Forget the held frames and any compression under way (failing or ending the connection). */
  private dropHeldSends(): void {
    this.encoding = false;
    this.encodingBytes = 0;
    this.held = [];
    this.heldHead = 0;
    this.heldBytes = 0;
    this.heldClose = null;
  }

  private queueClose(code: number | undefined, reason: string): void {
    this.encodeBytes(Opcode.CLOSE, buildClosePayload(code, reason), true);
  }

  /** §5.5.1: "The application MUST NOT send any more data frames after sending a Close frame." */
  private assertCanSendData(): void {
    if (this.close.phase !== ClosePhase.ACTIVE) {
      const received = this.close.received;
      throw new ConnectionClosedError(received !== null ? received.code : CloseCode.ABNORMAL_CLOSURE, received !== null ? received.reason : '');
    }
  }

  private assertCanSendControl(payload: Uint8Array): void {
    this.assertCanSendData();
    if (payload.length > 125) {
      throw new LocalError('WS_ERR_CONTROL_PAYLOAD_TOO_LONG', 'control frame payloads are at most 125 bytes (RFC 6455 §5.5)');
    }
  }

  /** Encode a text frame and queue it (frame-writer.ts). */
  private encodeText(opcode: number, text: string, fin: boolean): void {
    if (this.log !== null) this.log(describeFrame('>', opcode, text, fin));
    this.frames.writeTextFrame(opcode, text, fin);
  }

  /** Encode a frame with a byte payload and queue it. `owned`: the payload is ours and may be masked in place. */
  private encodeBytes(opcode: number, data: Uint8Array, fin: boolean, owned = false, rsv = 0): void {
    if (this.log !== null && !owned) this.log(describeFrame('>', opcode, data, fin));
    this.frames.writeFrame(opcode, data, fin, rsv, owned);
  }
}

function invalidUtf8(): ProtocolError {
  return protocolError('WS_ERR_INVALID_UTF8', 'text message is not valid UTF-8');
}

/** A thrown value as the error the connection fails with: a rule the peer broke, or else an internal error (1011). */
function asFailure(error: unknown): ConnectionFailure {
  return error instanceof ProtocolError || error instanceof InternalError ? error : new InternalError(error);
}

/** Our own failure (not the peer's fault): its details stay here. */
function isInternal(error: ConnectionFailure): boolean {
  return error instanceof InternalError || (WEBSOCKET_ERRORS as Record<string, { kind: string }>)[error.code]?.kind === 'internal';
}

/** Close reasons must fit 123 bytes (§5.5); error messages here are ASCII. */
function truncateReason(message: string): string {
  return message.length <= 123 ? message : message.slice(0, 123);
}
