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
 * Reading it in the RFC's order. The file follows a frame from the wire to
 * the application, then our frames out, then the end; the RFC sentence is
 * quoted where each rule is enforced.
 *
 *   Receiving (§6.2), sections "input" and "FrameSink":
 *   - §5.2 base framing, §5.1 masking by role, §5.5 control frames at most
 *     125 bytes and never fragmented, §10.4 frame size: one frame at a time,
 *     in FrameParser (frame-parser.ts), before anything here sees the frame;
 *   - §5.4 fragmentation, then §10.4 fragment count and message size:
 *     frameStart();
 *   - §5.6/§8.1 UTF-8, failing on the first invalid byte: framePayload(),
 *     and frameEnd() for a message that stops inside a character (RFC 7692:
 *     compressed text once inflated, deliverInflated());
 *   - §5.5 control frames: controlFrameEnd() (§5.5.2 ping, §5.5.3 pong) and
 *     closeFrameReceived() (§5.5.1 close);
 *   - §7.1.7 failing the connection, where every broken rule ends: failWith().
 *   Sending (§6.1), section "output": data frames (§5.6, fragments §5.4),
 *   control frames (§5.5), nothing after our close (§5.5.1); masking (§5.3)
 *   and encoding (§5.2) are FrameWriter's (frame-writer.ts).
 *   Closing (§7), section "closing": sendClose() (§7.1.2), fail() (§7.1.7),
 *   terminate(), transportClosed() and receiveEof() (§7.1.5: 1006); the state
 *   in close-state.ts, and who closes TCP first (§7.1.1) in transportAction.
 *   Then what RFC 7692 adds on the way out: output held behind a compression.
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
 * Likewise our own fragmented message (sendFragment()) holds the data
 * messages sent while it is open until its final fragment (§5.4). Data
 * messages never pass one another: `messagesSent` and `messagesQueued` let
 * the transport tell when a given message has reached takeOutput().
 */
import { StringDecoder } from 'node:string_decoder';
import { CloseCode } from '../framing/close-codes.js';
import { buildClosePayload, parseClosePayload } from '../framing/close-payload.js';
import { FrameParser, type FrameSink } from '../framing/frame-parser.js';
import { COPY_THRESHOLD, FrameWriter } from '../framing/frame-writer.js';
import { randomMaskKey, type MaskKeySource } from '../framing/mask-key.js';
import { Opcode } from '../framing/opcodes.js';
import { ConnectionClosedError, InternalError, LocalError, ProtocolError, citeSection, type ConnectionFailure } from '../errors.js';
import type { ExtensionCallback, MessageExtension } from '../extensions/extension.js';
import { Utf8Validator, isValidUtf8 } from '../utf8/utf8-validator.js';
import { describeEncodedFrame, describeFrame, environmentLogger, type FrameLogger } from './frame-log.js';
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
import { protocolError } from './error-codes.js';
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
  /**
   * Streaming (`streamMessagesAbove`): a message larger than that starts.
   * Its payload follows as onMessageChunk() calls and ends with
   * onMessageEnd(); onText()/onBinary() are not called for it. A message
   * started and not ended is abandoned when onProtocolError(),
   * onInternalError() or onCloseFrame() is called, or the transport closes.
   * Required when `streamMessagesAbove` is set.
   */
  onMessageStart?(binary: boolean): void;
  /**
   * A piece of the streamed message: text decoded to a string (UTF-8
   * validated up to here; a character split between pieces comes whole in
   * the next one), binary as a view into the input chunk (the caller's to
   * keep). Pieces follow TCP reads and frames, never empty.
   */
  onMessageChunk?(chunk: string | Buffer): void;
  /** The streamed message is complete (text: it ended on a whole character, §8.1). */
  onMessageEnd?(): void;
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
  /**
   * A message larger than this many bytes is streamed (onMessageStart /
   * onMessageChunk / onMessageEnd) instead of assembled; default Infinity
   * (never). maxMessageSize still bounds streamed messages. Compressed
   * messages are never streamed: with streaming on they are held to this
   * size, compressed and inflated (no message is assembled whole above it).
   */
  streamMessagesAbove?: number;
}

/** Default work per call: ordinary reads never reach it, and no call holds the event loop much past a millisecond (bench/RESULTS.md, "Turn budget"). */
/**
 * Shared empty queues for the sends held behind a compression and those
 * deferred behind our fragmented message: a connection gets arrays of its
 * own only while something waits (an idle one never). Never written to.
 */
const NOTHING_HELD: HeldSend[] = [];
/** No input kept back: shared, never written to (receiveData() makes an array when it keeps a chunk). */
const NO_INPUT: Buffer[] = [];
/** `streamAbove` when messages are never streamed (a small integer, unlike Infinity: see the field). */
const NEVER_STREAM = -1;
/** The extension callbacks of a connection without an extension: never called. */
const NO_EXTENSION_CALLBACK: ExtensionCallback = () => {};
const NOTHING_DEFERRED: DeferredSend[] = [];

export const DEFAULT_TURN_BUDGET = 1024;

/** Payload bytes (received, or discarded after a close) per work unit. */
const PAYLOAD_BYTES_PER_UNIT = 1024;
/** An inflated message costs one work unit per this many bytes, on top of its frames and payload. */
const INFLATED_BYTES_PER_UNIT = 256;
/** A fragmented message whose pieces were kept apart is joined at once up to this size; a larger one over turns, a budget's worth each. */
const JOIN_AT_ONCE = 256 * 1024;

/**
 * A data message sent while a fragmented message of ours is open (§5.4: "the
 * fragments of one message MUST NOT be interleaved between the fragments of
 * another message"): it waits, in order, until the final fragment is out.
 */
interface DeferredSend {
  /** A text message (string), a binary payload (ours to keep), or a pre-encoded frame. */
  data: string | Uint8Array;
  encoded: boolean;
  compress: boolean | undefined;
}

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

/*
 * The core is its parser's FrameSink (the parser is given `this`), but does
 * not say `implements FrameSink`: the sink methods are called by the parser
 * only, tagged internal and stripped from the published declarations, where
 * the clause would then no longer hold. (No at-sign tag in this comment: it
 * would strip the class.)
 */
/** A message inflated off the event loop: its output, or why it failed. */
interface DecodeResult {
  error: ConnectionFailure | null;
  output: Buffer | null;
}

/** A close frame to send once the held data frames are out. */
interface HeldClose {
  code: number | undefined;
  reason: string;
}

/**
 * What the protocol keeps for an extension's work off the event loop
 * (inflating a received message, compressing one to send): made only when
 * an extension was negotiated (see the accessors in WebSocketProtocol).
 */
class ExtensionWork {
  /** A compressed message is being inflated off the event loop; its result, once there. */
  decoding = false;
  decodedOpcode = 0;
  decoded: DecodeResult | null = null;
  // Output held back behind a message being compressed off the event loop.
  encoding = false;
  encodingOpcode = 0;
  /** The message being compressed, as the frame log shows it once its frame is queued. */
  encodingPayload: Uint8Array | null = null;
  encodingBytes = 0;
  held: HeldSend[] = NOTHING_HELD;
  heldHead = 0;
  heldBytes = 0;
  /** A close frame to send once the held data frames are out. */
  heldClose: HeldClose | null = null;

  constructor(
    /** The negotiated extension. */
    readonly extension: MessageExtension,
    /** The message limit for a transformed (compressed) message's own bytes: the extension's bound of the limit. */
    readonly maxEncodedMessageSize: number,
    readonly decodeDone: ExtensionCallback,
    readonly encodeDone: ExtensionCallback,
  ) {}
}

/**
 * What the protocol keeps only once a connection uses it: a control frame
 * split across reads, a message assembled across reads or fragments (and its
 * UTF-8 validator), a streamed text message's decoder, the messages sent while
 * our fragmented one is in progress. Made on the first write of a value other
 * than the initial one (the accessors in WebSocketProtocol); every field is
 * set here, so all of them share one hidden class.
 */
class RareCoreState {
  controlBuffer: Buffer | null = null;
  controlLength = 0;
  messageBuffer: MessageBuffer | null = null;
  utf8Validator: Utf8Validator | null = null;
  streamDecoder: StringDecoder | null = null;
  deferred: DeferredSend[] = NOTHING_DEFERRED;
  deferredBytes = 0;
  /** A fragmented message's pieces are being joined, over turns (see continueJoin()): its opcode, else 0. */
  joinOpcode = 0;
}

// The bits of WebSocketProtocol's `flags` (one small integer instead of four boolean fields).
const MESSAGE_COMPRESSED = 1 << 0;
const STREAMING = 1 << 1;
const FRAME_FIN = 1 << 2;
const FRAGMENTING = 1 << 3;

export class WebSocketProtocol {
  readonly role: 'server' | 'client';
  private readonly listener: ProtocolListener;
  /**
   * Made on the first byte received (see `parser`): an idle connection
   * receives none, and holds no FrameParser (136 B per idle connection, bench/idle-heap.ts).
   */
  private frameParser: FrameParser | null = null;
  /** The frame size limit the parser is made with: maxFrameSize, at most maxMessageSize. */
  private readonly maxFrameSize: number;
  private readonly maxMessageSize: number;
  private readonly maxFragments: number;
  /** Our frames' encoder and queue (see `frames`): a client's is made at once, a server's on its first frame. */
  private frameWriter: FrameWriter | null;
  private readonly log: FrameLogger | null;

  /** The closing handshake (§7): phase, who started, each side's close frame, our failure. The only close state there is. */
  private close: CloseState = ACTIVE_STATE;

  // The data message being assembled (opcode 0: none).
  private messageOpcode = 0;
  private messageSize = 0;
  private messageFragments = 0;
  /*
   * Receive-side state made on first use, not per connection: a message
   * arriving in one read (the usual case) needs neither. An idle connection
   * saves 88 B of heap (MessageBuffer 48 B, Utf8Validator 40 B; bench/idle-heap.ts).
   * (messageBuffer and utf8Validator, in RareCoreState.)
   */
  /**
   * Messages above this size are streamed; NEVER_STREAM (-1): never. Not
   * Infinity: a field that once held a non-integer is stored boxed, a 16 B
   * HeapNumber per connection (bench/idle-heap.ts); -1 stays a small integer.
   */
  private readonly streamAbove: number;

  // The frame being received.
  private frameOpcode = 0;
  private frameLength = 0;
  private frameReceived = 0;
  /** A whole unfragmented message that arrived in one piece: delivered without copying. */
  private wholeData: Buffer | null = null;
  private wholeStart = 0;
  private wholeEnd = 0;

  // A control frame's payload (at most 125 bytes, §5.5) split across reads,
  // gathered in a buffer of its size made for it (most arrive in one read and
  // are delivered as a view: an idle connection holds no buffer here).
  // (controlBuffer and controlLength, in RareCoreState.)

  // Input not processed yet: chunks (the first possibly partly consumed) kept
  // when a call used up its budget or waits for the extension. NO_INPUT (shared,
  // never written) while there are none: an idle connection holds no array.
  private inbox: Buffer[] = NO_INPUT;
  private inboxHead = 0;
  private readonly turnBudget: number;
  private turnWork = 0;
  /** The extension's off-loop work (ExtensionWork, below): null without an extension. */
  private readonly work: ExtensionWork | null;

  // Our fragmented message in progress (sendFragment()), and the messages sent meanwhile (deferred, deferredBytes: in RareCoreState).

  /** Data messages accepted by the send methods so far (a fragmented one counts at its first fragment). */
  private messagesAccepted = 0;
  /** Data messages whose final frame reached the outbound queue (takeOutput()) so far: always in the order accepted. */
  private queuedCount = 0;

  /*
   * Idle memory: four yes/no states are bits of `flags`, and what only some
   * connections use is in a RareCoreState made on first use (`rare`), both
   * read and written through the accessors below under their old names; the
   * extension and its limit are in ExtensionWork; two limits are derived.
   * What it buys: WebSocketProtocol 352 B -> 248 B per idle connection
   * (bench/idle-heap.ts). What every frame touches stays in this object.
   */
  private flags = 0;
  private rare: RareCoreState | null = null;

  constructor(listener: ProtocolListener, options: ProtocolOptions) {
    this.role = options.role;
    this.listener = listener;
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MESSAGE_LIMITS.maxMessageSize;
    this.maxFragments = options.maxFragments ?? DEFAULT_MESSAGE_LIMITS.maxFragments;
    const streamAbove = options.streamMessagesAbove ?? Infinity;
    this.streamAbove = streamAbove === Infinity ? NEVER_STREAM : streamAbove;
    if (this.streamAbove !== NEVER_STREAM && (listener.onMessageStart === undefined || listener.onMessageChunk === undefined || listener.onMessageEnd === undefined)) {
      throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'streamMessagesAbove needs a listener with onMessageStart, onMessageChunk and onMessageEnd');
    }
    const maxFrameSize = Math.min(options.maxFrameSize ?? DEFAULT_MESSAGE_LIMITS.maxFrameSize, this.maxMessageSize);
    const extension = options.extension ?? null;
    // A transformed (compressed) message may arrive larger than it will be
    // once decoded: its frames are held to the extension's bound of the
    // limits (the limits count the decoded message, which decode() enforces;
    // with streaming on, a compressed message is held to the streaming
    // threshold, as it is assembled whole).
    const wholeMessageLimit = this.wholeMessageLimit;
    const maxEncodedMessageSize = Math.max(extension?.maxEncodedSize?.(wholeMessageLimit) ?? wholeMessageLimit, wholeMessageLimit);
    this.maxFrameSize = maxFrameSize;
    // A server's writer (no masking keys to keep) is made on its first frame:
    // an idle server connection holds none (48 B, bench/idle-heap.ts).
    this.frameWriter = options.role === 'client' ? new FrameWriter(options.maskKeySource ?? randomMaskKey) : null;
    this.log = options.logger === undefined ? environmentLogger : options.logger;
    this.turnBudget = options.turnBudget ?? DEFAULT_TURN_BUDGET;
    // Its state and callbacks are made only when there is an extension.
    this.work =
      extension === null
        ? null
        : new ExtensionWork(
            extension,
            maxEncodedMessageSize,
            (error, output) => this.decodeFinished(error, output),
            (error, output) => this.encodeFinished(error, output),
          );
  }

  /** The negotiated extension, or null. */
  private get extension(): MessageExtension | null { return this.work !== null ? this.work.extension : null; }
  /** The message limit for a transformed (compressed) message's own bytes: the extension's bound of wholeMessageLimit. */
  private get maxEncodedMessageSize(): number { return this.work !== null ? this.work.maxEncodedMessageSize : this.wholeMessageLimit; }
  /** The largest message assembled whole when it is compressed (compressed messages are not streamed). */
  private get wholeMessageLimit(): number {
    return this.streamAbove === NEVER_STREAM ? this.maxMessageSize : Math.min(this.maxMessageSize, this.streamAbove);
  }
  /** The message buffer's capacity bound: the larger of the two message limits. */
  private get messageCapacity(): number { return Math.max(this.maxEncodedMessageSize, this.maxMessageSize); }

  /** The message in progress had the extension's RSV bits on its first frame: its payload is transformed (compressed). */
  private get messageCompressed(): boolean { return (this.flags & MESSAGE_COMPRESSED) !== 0; }
  private set messageCompressed(on: boolean) { this.flags = on ? this.flags | MESSAGE_COMPRESSED : this.flags & ~MESSAGE_COMPRESSED; }
  /** The message in progress is streamed to the listener rather than assembled. */
  private get streaming(): boolean { return (this.flags & STREAMING) !== 0; }
  private set streaming(on: boolean) { this.flags = on ? this.flags | STREAMING : this.flags & ~STREAMING; }
  private get frameFin(): boolean { return (this.flags & FRAME_FIN) !== 0; }
  private set frameFin(on: boolean) { this.flags = on ? this.flags | FRAME_FIN : this.flags & ~FRAME_FIN; }
  private get fragmenting(): boolean { return (this.flags & FRAGMENTING) !== 0; }
  private set fragmenting(on: boolean) { this.flags = on ? this.flags | FRAGMENTING : this.flags & ~FRAGMENTING; }

  // RareCoreState's fields: their initial value while there is none; a write of anything else makes it.
  private get controlBuffer(): Buffer | null { return this.rare !== null ? this.rare.controlBuffer : null; }
  private set controlBuffer(value: Buffer | null) { if (this.rare !== null || value !== null) this.rareState().controlBuffer = value; }
  private get controlLength(): number { return this.rare !== null ? this.rare.controlLength : 0; }
  private set controlLength(value: number) { if (this.rare !== null || value !== 0) this.rareState().controlLength = value; }
  /** The message assembled across reads or fragments (see `message`). */
  private get messageBuffer(): MessageBuffer | null { return this.rare !== null ? this.rare.messageBuffer : null; }
  private set messageBuffer(value: MessageBuffer | null) { if (this.rare !== null || value !== null) this.rareState().messageBuffer = value; }
  /** Validates text arriving in pieces, across fragment and read boundaries (see `utf8`). */
  private get joinOpcode(): number { return this.rare !== null ? this.rare.joinOpcode : 0; }
  private set joinOpcode(value: number) { if (this.rare !== null || value !== 0) this.rareState().joinOpcode = value; }
  private get utf8Validator(): Utf8Validator | null { return this.rare !== null ? this.rare.utf8Validator : null; }
  private set utf8Validator(value: Utf8Validator | null) { if (this.rare !== null || value !== null) this.rareState().utf8Validator = value; }
  /** Decodes a streamed text message's pieces (already validated) into strings, keeping a character split between pieces. */
  private get streamDecoder(): StringDecoder | null { return this.rare !== null ? this.rare.streamDecoder : null; }
  private set streamDecoder(value: StringDecoder | null) { if (this.rare !== null || value !== null) this.rareState().streamDecoder = value; }
  private get deferred(): DeferredSend[] { return this.rare !== null ? this.rare.deferred : NOTHING_DEFERRED; }
  private set deferred(value: DeferredSend[]) { if (this.rare !== null || value !== NOTHING_DEFERRED) this.rareState().deferred = value; }
  private get deferredBytes(): number { return this.rare !== null ? this.rare.deferredBytes : 0; }
  private set deferredBytes(value: number) { if (this.rare !== null || value !== 0) this.rareState().deferredBytes = value; }

  private rareState(): RareCoreState {
    return (this.rare ??= new RareCoreState());
  }

  /** Encodes our frames (masked for a client, §5.1) and queues them for the transport: a server's is made on its first frame. */
  private get frames(): FrameWriter {
    return (this.frameWriter ??= new FrameWriter(null));
  }

  /** The frame parser, made the first time it is needed. */
  private get parser(): FrameParser {
    return this.frameParser ?? this.makeParser();
  }

  private makeParser(): FrameParser {
    const sink: FrameSink = this; // frameStart() ... frameEnd(), below
    const encodedFrameSize = this.extension?.maxEncodedSize?.(this.maxFrameSize) ?? this.maxFrameSize;
    return (this.frameParser = new FrameParser(sink, {
      role: this.role,
      maxFrameSize: this.maxFrameSize,
      maxTransformedFrameSize: encodedFrameSize,
      // §5.2: RSV bits are a protocol error unless an extension gave them a meaning.
      allowedRsv: this.extension !== null ? this.extension.rsvBits : 0,
    }));
  }

  /*
   * The extension's state, read and written as if it were fields of this
   * object. Without an extension (`work` null) they read as their initial
   * values, and only those are ever written to them (resets after a close
   * or a failure): nothing is inflated or compressed, so nothing is held.
   * What it buys: 13 fields less per plain connection, ~100 B of heap per
   * idle connection (bench/idle-heap.ts: WebSocketProtocol 440 B -> 336 B).
   */
  private get decoding(): boolean { return this.work !== null && this.work.decoding; }
  private set decoding(value: boolean) { if (this.work !== null) this.work.decoding = value; }
  private get decodedOpcode(): number { return this.work !== null ? this.work.decodedOpcode : 0; }
  private set decodedOpcode(value: number) { if (this.work !== null) this.work.decodedOpcode = value; }
  private get decoded(): DecodeResult | null { return this.work !== null ? this.work.decoded : null; }
  private set decoded(value: DecodeResult | null) { if (this.work !== null) this.work.decoded = value; }
  private get decodeDone(): ExtensionCallback { return this.work !== null ? this.work.decodeDone : NO_EXTENSION_CALLBACK; }
  private get encoding(): boolean { return this.work !== null && this.work.encoding; }
  private set encoding(value: boolean) { if (this.work !== null) this.work.encoding = value; }
  private get encodingOpcode(): number { return this.work !== null ? this.work.encodingOpcode : 0; }
  private set encodingOpcode(value: number) { if (this.work !== null) this.work.encodingOpcode = value; }
  private get encodingPayload(): Uint8Array | null { return this.work !== null ? this.work.encodingPayload : null; }
  private set encodingPayload(value: Uint8Array | null) { if (this.work !== null) this.work.encodingPayload = value; }
  private get encodingBytes(): number { return this.work !== null ? this.work.encodingBytes : 0; }
  private set encodingBytes(value: number) { if (this.work !== null) this.work.encodingBytes = value; }
  private get held(): HeldSend[] { return this.work !== null ? this.work.held : NOTHING_HELD; }
  private set held(value: HeldSend[]) { if (this.work !== null) this.work.held = value; }
  private get heldHead(): number { return this.work !== null ? this.work.heldHead : 0; }
  private set heldHead(value: number) { if (this.work !== null) this.work.heldHead = value; }
  private get heldBytes(): number { return this.work !== null ? this.work.heldBytes : 0; }
  private set heldBytes(value: number) { if (this.work !== null) this.work.heldBytes = value; }
  private get heldClose(): HeldClose | null { return this.work !== null ? this.work.heldClose : null; }
  private set heldClose(value: HeldClose | null) { if (this.work !== null) this.work.heldClose = value; }
  private get encodeDone(): ExtensionCallback { return this.work !== null ? this.work.encodeDone : NO_EXTENSION_CALLBACK; }

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
  // §6.2: "Incoming data MUST be parsed as WebSocket frames as defined in
  // Section 5.2." Bytes go to FrameParser, which checks each frame on its own
  // and hands it to the FrameSink methods further down. This section decides
  // only how much is parsed per call (fair turns) and what happens to input
  // that is kept back or discarded.

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
    if (this.inboxHead < this.inbox.length || this.decoding || this.joinOpcode !== 0) {
      // Input already waiting goes first; this chunk waits behind it.
      if (this.inbox === NO_INPUT) this.inbox = [];
      this.inbox.push(chunk);
      return;
    }
    this.parseChunk(chunk);
  }

  /**
   * processInbox() for one chunk when nothing waits (the usual read): the
   * same steps, without putting the chunk in an array first (an array per
   * read, or one kept per connection, for nothing). What the turn budget (or
   * a message being inflated) keeps back goes to the inbox.
   */
  private parseChunk(chunk: Buffer): void {
    let rest = chunk;
    try {
      while (!this.decoding && this.joinOpcode === 0 && this.turnWork < this.turnBudget) {
        this.parser.maxPiece = this.payloadAllowance();
        const consumed = this.parser.push(rest);
        if (consumed === rest.length || this.parser.halted) return;
        rest = rest.subarray(consumed);
      }
    } catch (error) {
      // As in processInbox(): never into the transport's read loop.
      this.failWith(asFailure(error));
      return;
    }
    if (this.parser.halted) return;
    this.inbox = [rest];
    this.inboxHead = 0;
  }

  /**
   * Start a new turn: deliver a message the extension finished, then parse
   * what was kept back, up to a fresh turn budget.
   */
  resumeInput(): void {
    this.beginTurn();
    if (this.joinOpcode !== 0) {
      try {
        this.continueJoin();
      } catch (error) {
        this.failWith(asFailure(error));
        return;
      }
      if (this.joinOpcode !== 0) return;
    }
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

  /** Input is kept back (or a message is being joined): the transport should stop reading, and call resumeInput() on a later turn (unless waitingForExtension). */
  get hasPendingInput(): boolean {
    return this.inboxHead < this.inbox.length || this.joinOpcode !== 0;
  }

  /** The transport starts a new turn of its event loop: the budget is full again (resumeInput() does this too). */
  beginTurn(): void {
    this.turnWork = 0;
  }

  /**
   * What is left of this turn is at most `units`. A transport that shares
   * its event loop with many connections cuts turns short this way when the
   * loop has spent its share on input (see turn-scheduler.ts).
   */
  limitTurn(units: number): void {
    if (this.turnWork < this.turnBudget - units) this.turnWork = this.turnBudget - units;
  }

  /** This turn's budget is used up: the transport should stop reading and call resumeInput() on a later turn of its event loop. */
  get turnSpent(): boolean {
    return this.turnWork >= this.turnBudget;
  }

  /** A message is being inflated off the event loop: onInputReady() will say when input can go on. */
  get waitingForExtension(): boolean {
    return this.decoding;
  }

  /** The message being assembled, made the first time a message does not arrive whole in one read. */
  private get message(): MessageBuffer {
    return (this.messageBuffer ??= new MessageBuffer(this.messageCapacity));
  }

  /** The UTF-8 validator for text arriving in pieces, made the first time text does. */
  private get utf8(): Utf8Validator {
    return (this.utf8Validator ??= new Utf8Validator());
  }

  /** Bytes held for messages being received: the message assembled so far, input kept back. */
  get bufferedInputBytes(): number {
    let bytes = this.messageBuffer === null ? 0 : this.messageBuffer.capacity;
    for (let i = this.inboxHead; i < this.inbox.length; i++) bytes += this.inbox[i].length;
    return bytes;
  }

  private processInbox(): void {
    const inbox = this.inbox;
    try {
      while (this.inboxHead < inbox.length && !this.decoding && this.joinOpcode === 0 && this.turnWork < this.turnBudget) {
        const chunk = inbox[this.inboxHead];
        this.parser.maxPiece = this.payloadAllowance();
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
      this.inbox = NO_INPUT;
      this.inboxHead = 0;
    }
  }

  /**
   * Payload bytes the rest of this turn's budget pays for (at least one
   * unit's worth, so that every turn moves on): a large frame is taken in
   * pieces of this size, and a turn cut short by limitTurn() stops within it.
   */
  private payloadAllowance(): number {
    const units = this.turnBudget - this.turnWork;
    return units <= 1 ? PAYLOAD_BYTES_PER_UNIT : Math.ceil(units) * PAYLOAD_BYTES_PER_UNIT;
  }

  /** Count work done in this call; past the budget, the parser stops after its current step. */
  private spend(units: number): void {
    this.turnWork += units;
    if (this.turnWork >= this.turnBudget) this.parser.requestStop();
  }

  /**
   * The peer's input ended (TCP FIN). Without its close frame first this is
   * an abnormal closure; either way nothing more is received or sent, and
   * the transport closes its side (transportAction). §7.1.5: "If _The
   * WebSocket Connection is Closed_ and no Close control frame was received
   * by the endpoint (such as could occur if the underlying transport
   * connection is lost), _The WebSocket Connection Close Code_ is considered
   * to be 1006." (close-state.ts reports it so.)
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
    this.messageBuffer?.reset();
    this.stopStreaming();
    this.inbox = NO_INPUT;
    this.inboxHead = 0;
    this.decoding = false;
    this.decoded = null;
    this.joinOpcode = 0;
  }

  // ------------------------------------------------------ FrameSink (parser)
  // Called by the parser only: tagged internal, not in the published declarations.
  //
  // What arrives here already passed FrameParser's checks of the frame alone
  // (§5.2: known opcode, RSV bits only as the extension allows, the 64-bit
  // length's top bit clear; §5.1: masked as the role requires; §5.5: a control
  // frame has FIN set and at most 125 bytes; §10.4: maxFrameSize). Here come
  // the rules that need the message around the frame: §5.4, §10.4, §8.1, §5.5.

  /** @internal */
  frameStart(fin: boolean, rsv: number, opcode: number, length: number): void {
    if (opcode >= Opcode.CLOSE) {
      // Control frames may arrive between the fragments of a message (§5.4):
      // "An endpoint MUST be capable of handling control frames in the middle
      // of a fragmented message." They do not disturb the message being
      // assembled; controlFrameEnd() handles them (§5.5).
      this.frameOpcode = opcode;
      this.frameLength = length;
      this.controlLength = 0;
      this.controlBuffer = null;
      this.wholeData = null;
      return;
    }
    if (opcode === Opcode.CONTINUATION) {
      // §5.4: "A fragmented message consists of a single frame with the FIN
      // bit clear and an opcode other than 0, followed by zero or more frames
      // with the FIN bit clear and the opcode set to 0, and terminated by a
      // single frame with the FIN bit set and an opcode of 0." A continuation
      // frame continues a message that was started, or it is an error.
      if (this.messageOpcode === 0) {
        throw protocolError('WS_ERR_UNEXPECTED_CONTINUATION', 'continuation frame without a message to continue');
      }
      // A message extension marks the first frame only. RFC 7692 §6: "An
      // endpoint MUST NOT set the "Per-Message Compressed" bit of control
      // frames and non-first fragments of a data message. An endpoint
      // receiving such a frame MUST _Fail the WebSocket Connection_."
      if (rsv !== 0) {
        throw protocolError('WS_ERR_RESERVED_BITS', 'reserved bits set on a continuation frame', 'RFC 7692 §6');
      }
    } else {
      // §5.4: "The fragments of one message MUST NOT be interleaved between
      // the fragments of another message unless an extension has been
      // negotiated that can interpret the interleaving." (None here does.)
      if (this.messageOpcode !== 0) {
        throw protocolError('WS_ERR_EXPECTED_CONTINUATION', `new ${opcode === Opcode.TEXT ? 'TEXT' : 'BINARY'} frame inside a fragmented message`);
      }
      // §6.2: "the endpoint MUST note the /type/ of the data as defined by the
      // opcode": a fragmented message has the type of its first frame.
      this.messageOpcode = opcode;
      this.messageSize = 0;
      this.messageFragments = 0;
      this.messageCompressed = rsv !== 0; // the parser let through only the extension's bits
      if (opcode === Opcode.TEXT) this.utf8Validator?.reset(); // (a new one starts reset)
    }
    // §10.4: "Such an implementation SHOULD impose a limit on frame sizes and
    // the total message size after reassembly from multiple frames." The
    // frame size is the parser's; the message's two limits are checked here:
    // its fragment count (a stream of tiny frames costs work per frame, not
    // per byte) and its size.
    if (++this.messageFragments > this.maxFragments) {
      throw protocolError('WS_ERR_TOO_MANY_FRAGMENTS', `message split into more than ${this.maxFragments} frames`);
    }
    // §10.4: implementations "MUST protect themselves against exceeding those
    // limits": checked against the declared length, before the payload is read.
    // (A compressed message is assembled whole, never streamed: with
    // streaming on, it is held to the streaming threshold, compressed and inflated.)
    const messageLimit = this.messageCompressed ? this.maxEncodedMessageSize : this.maxMessageSize;
    if (this.messageSize + length > messageLimit) {
      throw protocolError(
        'WS_ERR_MESSAGE_TOO_BIG',
        this.messageCompressed
          ? `compressed message exceeds ${messageLimit} bytes, the most a message of ${this.wholeMessageLimit} bytes compresses to`
          : `message exceeds the limit of ${this.maxMessageSize} bytes`,
      );
    }
    if (this.streamAbove !== NEVER_STREAM && this.messageSize + length > this.streamAbove && !this.streaming && !this.messageCompressed) this.startStreaming();
    this.frameOpcode = opcode;
    this.frameFin = fin;
    this.frameLength = length;
    this.frameReceived = 0;
    this.wholeData = null;
  }

  /**
   * @internal
   * FrameSink: a data payload piece that will be gathered into the message
   * buffer is unmasked straight into it (one pass instead of unmask + copy).
   * Control frames and a whole unfragmented message arriving in one read are
   * kept in place in the chunk instead (see framePayload).
   */
  payloadDestination(length: number): Buffer | null {
    if (this.frameOpcode >= Opcode.CLOSE || this.streaming || this.arrivesWhole(length)) return null;
    const expected = this.expectedMessageTotal();
    // A large piece of a fragmented message is kept as it came (unmasked in place), not copied.
    if (this.message.keepsAsIs(length, expected)) return null;
    return this.message.reserve(length, expected);
  }

  /** @internal */
  framePayload(data: Buffer, start: number, end: number): void {
    const opcode = this.frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      if (this.controlLength === 0 && end - start === this.frameLength) {
        this.wholeData = data;
        this.wholeStart = start;
        this.wholeEnd = end;
      } else {
        data.copy((this.controlBuffer ??= Buffer.allocUnsafe(this.frameLength)), this.controlLength, start, end);
        this.controlLength += end - start;
      }
      return;
    }
    const size = end - start;
    if (this.streaming) {
      this.streamPayload(data, start, end);
      return;
    }
    if (this.arrivesWhole(size)) {
      // Fast path: an unfragmented message that arrived in one read.
      // (A whole message at once: checking it in one go is failing as early as possible.)
      if (opcode === Opcode.TEXT && !this.messageCompressed && !isValidUtf8(data, start, end)) throw invalidUtf8();
      this.spend(size / PAYLOAD_BYTES_PER_UNIT);
      this.wholeData = data;
      this.wholeStart = start;
      this.wholeEnd = end;
    } else {
      // §8.1: "When an endpoint is to interpret a byte stream as UTF-8 but
      // finds that the byte stream is not, in fact, a valid UTF-8 stream,
      // that endpoint MUST _Fail the WebSocket Connection_." We fail on the
      // first invalid byte, fragment by fragment and read by read, not at the
      // end of the message (Autobahn 6.4). §5.6: "a particular text frame
      // might include a partial UTF-8 sequence": the validator carries it over.
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

  /** @internal */
  frameEnd(): void {
    this.spend(1);
    const opcode = this.frameOpcode;
    if (opcode >= Opcode.CLOSE) {
      this.controlFrameEnd(opcode);
      return;
    }
    if (!this.frameFin) return;
    // §6.2: after the final fragment, "Subsequent data frames MUST be
    // interpreted as belonging to a new WebSocket message."
    const messageOpcode = this.messageOpcode;
    this.messageOpcode = 0;
    if (this.streaming) {
      this.endStreaming(messageOpcode);
      return;
    }
    const whole = this.wholeData;
    let message: string | Buffer;
    if (this.messageCompressed) {
      this.messageCompressed = false;
      const compressed = whole !== null ? whole.subarray(this.wholeStart, this.wholeEnd) : this.message.take();
      this.wholeData = null;
      const inflated = this.extension!.decode(compressed, this.wholeMessageLimit, this.decodeDone);
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
    } else {
      // §5.6: "the whole message MUST contain valid UTF-8": it must not end
      // inside a character (§8.1 fails the connection if it does).
      if (messageOpcode === Opcode.TEXT && this.utf8Validator !== null && !this.utf8Validator.isComplete()) throw invalidUtf8();
      if (this.message.needsJoin && this.message.length > JOIN_AT_ONCE) {
        // Its large pieces were kept apart: joining them is work like any
        // other, done a turn's budget at a time; nothing after the message
        // is processed before it is delivered (messages stay in order).
        this.joinOpcode = messageOpcode;
        this.parser.requestStop();
        this.continueJoin();
        return;
      }
      message = messageOpcode === Opcode.TEXT ? this.message.takeText() : this.message.take();
    }
    this.deliverMessage(messageOpcode, message);
  }

  /** Hand a whole message to the listener (and the frame log). */
  private deliverMessage(opcode: number, message: string | Buffer): void {
    if (this.log !== null) this.log(describeFrame('<', opcode, message));
    if (typeof message === 'string') this.listener.onText(message);
    else this.listener.onBinary(message);
  }

  /** Join what this turn's budget pays for of a message kept in pieces; deliver it once whole. */
  private continueJoin(): void {
    const message = this.message;
    this.spend(message.joinStep(this.payloadAllowance()) / PAYLOAD_BYTES_PER_UNIT);
    if (message.needsJoin) return;
    const opcode = this.joinOpcode;
    this.joinOpcode = 0;
    this.deliverMessage(opcode, opcode === Opcode.TEXT ? message.takeText() : message.take());
  }

  // ------------------------------------------------ streaming receive

  /** The message grows past `streamAbove`: from now on its payload goes to the listener as it arrives. */
  private startStreaming(): void {
    this.streaming = true;
    const binary = this.messageOpcode === Opcode.BINARY;
    this.streamDecoder = binary ? null : new StringDecoder('utf8');
    if (this.log !== null) this.log(`< ${binary ? 'BINARY' : 'TEXT'} (streamed, above ${this.streamAbove} bytes)`);
    this.listener.onMessageStart!(binary);
    // What earlier fragments gathered (UTF-8 already checked) is the first piece.
    if (this.messageBuffer !== null && this.messageBuffer.length > 0) for (const piece of this.messageBuffer.takePieces()) this.emitPiece(piece);
  }

  /** A payload piece of a streamed message: checked (text, §8.1: at the first bad byte), counted, handed on. */
  private streamPayload(data: Buffer, start: number, end: number): void {
    const size = end - start;
    if (this.streamDecoder !== null && !this.utf8.write(data, start, end)) throw invalidUtf8();
    this.spend(size / PAYLOAD_BYTES_PER_UNIT);
    this.frameReceived += size;
    this.messageSize += size;
    if (size > 0) this.emitPiece(data.subarray(start, end));
  }

  private emitPiece(bytes: Buffer): void {
    const decoder = this.streamDecoder;
    if (decoder === null) {
      this.listener.onMessageChunk!(bytes);
      return;
    }
    const text = decoder.write(bytes);
    if (text.length > 0) this.listener.onMessageChunk!(text);
  }

  private endStreaming(opcode: number): void {
    if (opcode === Opcode.TEXT) {
      // §8.1: a text message must not end inside a UTF-8 sequence.
      if (this.utf8Validator !== null && !this.utf8Validator.isComplete()) throw invalidUtf8();
      const rest = this.streamDecoder!.end();
      if (rest.length > 0) this.listener.onMessageChunk!(rest);
    }
    if (this.log !== null) this.log(`< ${opcode === Opcode.TEXT ? 'TEXT' : 'BINARY'} (streamed) end [${this.messageSize} bytes]`);
    this.stopStreaming();
    this.listener.onMessageEnd!();
  }

  /** No message is being streamed (any longer). */
  private stopStreaming(): void {
    this.streaming = false;
    this.streamDecoder = null;
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
  private decodeFinished(error: ConnectionFailure | null, output: Buffer | null): void {
    if (!this.decoding || this.decoded !== null) return; // the connection ended meanwhile
    this.decoded = { error, output };
    this.listener.onInputReady?.();
  }

  /**
   * §6.2: "If a control frame (Section 5.5) is received, the frame MUST be
   * handled as defined by Section 5.5": ping (§5.5.2), pong (§5.5.3), close
   * (§5.5.1).
   */
  private controlFrameEnd(opcode: number): void {
    let payload: Buffer;
    if (this.wholeData !== null) {
      payload = this.wholeData.subarray(this.wholeStart, this.wholeEnd);
      this.wholeData = null;
    } else {
      // (The gathered buffer is this frame's alone: handed over without a copy.)
      payload = this.frameLength === 0 || this.controlBuffer === null ? EMPTY : this.controlBuffer.subarray(0, this.controlLength);
      this.controlBuffer = null;
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
      // §5.5.3: "A Pong frame MAY be sent unsolicited. This serves as a
      // unidirectional heartbeat. A response to an unsolicited Pong frame is
      // not expected."
      this.listener.onPong(payload);
    } else {
      this.closeFrameReceived(payload);
    }
  }

  /** §5.5.1: the peer's Close frame. */
  private closeFrameReceived(payload: Buffer): void {
    // §5.5.1's body rules (a 2-byte status code first, one that may appear
    // on the wire (§7.4), then a UTF-8 reason (§8.1)) are close-payload.ts's;
    // a violation throws, and the connection fails with its code.
    const { code, reason } = parseClosePayload(payload);
    this.close = receiveCloseFrame(this.close, { code, reason });
    // §1.4: "after receiving a control frame indicating the connection should
    // be closed, a peer discards any further data received." (Autobahn 7.1.x
    // sends data after the close; it is ignored.)
    this.parser.halt();
    this.messageBuffer?.reset();
    this.stopStreaming();
    this.messageOpcode = 0;
    if (this.close.phase === ClosePhase.CLOSED_BY_PEER) {
      // §5.5.1: "If an endpoint receives a Close frame and did not previously
      // send a Close frame, the endpoint MUST send a Close frame in response
      // ... typically echo[ing] the status code it received." It "MAY delay
      // sending a Close frame until its current message is sent": a message
      // still being compressed goes first.
      this.closeAfterHeldSends(code === CloseCode.NO_STATUS_RECEIVED ? undefined : code, '');
      this.dropDeferredSends();
      this.close = sendCloseFrame(this.close, { code, reason: '' });
    }
    this.listener.onCloseFrame(code, reason);
  }

  /**
   * §7.1.7 "Fail the WebSocket Connection": send a close frame with the
   * error's code (unless ours is already out), stop reading, close TCP. The
   * listener hears of it unless the failure is the transport's own (fail()).
   * Every rule broken above ends here, with the close code of its entry in
   * error-codes.ts.
   */
  private failWith(error: ConnectionFailure, tellListener = true): void {
    const phase = this.close.phase;
    if (phase !== ClosePhase.ACTIVE && phase !== ClosePhase.CLOSED_BY_US && phase !== ClosePhase.CLOSED_BY_PEER) return;
    // Our close frame, if already queued (not still held behind a compression, which is dropped below).
    let sent = this.heldClose === null ? this.close.sent : null;
    // §7.1.7: "An endpoint MUST NOT continue to attempt to process data
    // (including a responding Close frame) from the remote endpoint after
    // being instructed to _Fail the WebSocket Connection_."
    this.dropInput();
    this.messageOpcode = 0;
    if (this.log !== null) this.log(`! ${error.code} (${citeSection(error.rfcSection)}): ${error.message} → close ${error.closeCode}`);
    // Failing the connection does not wait for messages still being compressed.
    this.dropHeldSends();
    if (sent === null) {
      // §7.1.7: "the endpoint SHOULD send a Close frame with an appropriate
      // status code (Section 7.4)". The peer learns what rule it broke, but
      // nothing of our internals.
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
  // §6.1 Sending Data. Step 1, "The endpoint MUST ensure the WebSocket
  // connection is in the OPEN state", is assertCanSendData() (§5.5.1: no data
  // frame after our close); the frame itself (§5.2), with its opcode and FIN
  // (steps 2-4), masked by a client (step 5, §5.3), is FrameWriter's.

  /**
   * Queue a text message (one frame). §5.6: "the whole message MUST contain
   * valid UTF-8": a JavaScript string encodes to valid UTF-8 (a lone
   * surrogate becomes U+FFFD). `compress` (with an extension such as
   * permessage-deflate): true compresses it whatever its size, false sends
   * it as it is (RSV1 clear: RFC 7692 §6 lets any message go uncompressed),
   * undefined leaves it to the extension's threshold.
   */
  sendText(text: string, compress?: boolean): void {
    this.assertCanSendData();
    this.messagesAccepted++;
    if (this.fragmenting) this.defer(text, false, compress);
    else this.queueText(text, compress);
  }

  private queueText(text: string, compress: boolean | undefined): void {
    const extension = this.extension;
    // (UTF-16 length × 3 bounds the UTF-8 length: no encoding for short strings.)
    if (extension !== null && compress !== false && (compress === true || extension.shouldEncode(text.length * 3))) {
      const bytes = Buffer.from(text, 'utf8');
      if (compress === true || extension.shouldEncode(bytes.length)) {
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

  /**
   * Queue a binary message (one frame). Buffers over 4 KiB (COPY_THRESHOLD) are queued by
   * reference: do not modify them until written. `compress`: as sendText().
   */
  sendBinary(data: Uint8Array, compress?: boolean): void {
    this.assertCanSendData();
    this.messagesAccepted++;
    if (this.fragmenting) this.defer(data, false, compress);
    else this.queueBinary(data, compress);
  }

  private queueBinary(data: Uint8Array, compress: boolean | undefined): void {
    const extension = this.extension;
    if (extension !== null && compress !== false && (compress === true || extension.shouldEncode(data.length))) {
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
   * BINARY, the rest with CONTINUATION, the last with fin = true. Fragments
   * go out uncompressed (RSV1 clear, whatever the extension: RFC 7692 §6
   * lets any message be sent as it is). Text is checked by the caller: the
   * whole message must be UTF-8 (§8.1), a string fragment is encoded alone.
   *
   * §5.4: "the fragments of one message MUST NOT be interleaved between the
   * fragments of another message": while a fragmented message is open,
   * sendText()/sendBinary()/sendEncodedFrame() are accepted but wait, in
   * order, until its final fragment; control frames go at once ("Control
   * frames MAY be injected in the middle of a fragmented message"). A close
   * ends the message where it stands (no data frame may follow a close,
   * §5.5.1) and drops what waited. A LocalError for a CONTINUATION with no
   * message open, or a TEXT/BINARY inside one.
   */
  sendFragment(opcode: typeof Opcode.TEXT | typeof Opcode.BINARY | typeof Opcode.CONTINUATION, data: string | Uint8Array, fin: boolean): void {
    this.assertCanSendData();
    if ((opcode === Opcode.CONTINUATION) !== this.fragmenting) {
      throw new LocalError(
        'WS_ERR_FRAGMENT_OUT_OF_ORDER',
        this.fragmenting ? 'a fragmented message is open: its next frame is a CONTINUATION (RFC 6455 §5.4)' : 'a CONTINUATION frame needs a fragmented message to continue (RFC 6455 §5.4)',
      );
    }
    // The message is numbered at its first frame: the messages sent while it is open come after it.
    if (opcode !== Opcode.CONTINUATION) this.messagesAccepted++;
    if (this.holdingSends) this.hold(opcode, typeof data === 'string' ? Buffer.from(data, 'utf8') : data, fin, false, false, typeof data === 'string');
    else if (typeof data === 'string') this.encodeText(opcode, data, fin);
    else this.encodeBytes(opcode, data, fin);
    if (!fin) {
      this.fragmenting = true;
      return;
    }
    this.fragmenting = false;
    this.releaseDeferredSends();
  }

  /** A fragmented message of ours is open (sendFragment() without fin so far): data messages wait behind it. */
  get sendingFragments(): boolean {
    return this.fragmenting;
  }

  /**
   * Data messages accepted by the send methods so far (a fragmented message
   * counts once, at its first fragment). With `messagesQueued`, a transport
   * learns when a given message has reached takeOutput(): message n has once
   * messagesQueued >= n (data messages never pass one another).
   */
  get messagesSent(): number {
    return this.messagesAccepted;
  }

  /** Data messages whose final frame is in the outbound queue (or was taken from it) so far. */
  get messagesQueued(): number {
    return this.queuedCount;
  }

  /**
   * Queue a complete data frame encoded beforehand with encodeFrame() (server
   * role: unmasked) — a broadcast encodes its frame once for all receivers.
   * The buffer is shared: it must not change afterwards.
   */
  sendEncodedFrame(frame: Buffer): void {
    this.assertCanSendData();
    if (this.role !== 'server') throw new LocalError('WS_ERR_ENCODED_FRAME_ON_CLIENT', 'pre-encoded frames are unmasked: only a server may send them');
    this.messagesAccepted++;
    if (this.fragmenting) this.defer(frame, true, undefined);
    else this.queueEncodedFrame(frame);
  }

  private queueEncodedFrame(frame: Buffer): void {
    if (this.holdingSends) {
      this.hold(0, frame, true, false, true, false);
    } else {
      this.writeEncodedFrame(frame);
      this.queuedCount++;
    }
  }

  /** Queue a ping (§5.5.2); the peer answers with a pong carrying the same payload (§5.5.3). */
  sendPing(payload: Uint8Array = EMPTY): void {
    this.assertCanSendControl(payload);
    this.encodeBytes(Opcode.PING, payload, true);
  }

  /** Queue an unsolicited pong (§5.5.3: "A Pong frame MAY be sent unsolicited"); pings are answered by the core itself. */
  sendPong(payload: Uint8Array = EMPTY): void {
    this.assertCanSendControl(payload);
    this.encodeBytes(Opcode.PONG, payload, true);
  }

  // -------------------------------------------------------------- closing
  // §7, from our side. Each call moves the one close state (close-state.ts);
  // `transportAction` then tells the transport what to do with TCP (§7.1.1).

  /**
   * Start (or answer) the closing handshake. §7.1.2: "an endpoint MUST send a
   * Close control frame, as described in Section 5.5.1, whose status code is
   * set to /code/ and whose close reason is set to /reason/." Without a code
   * the close frame is empty. Idempotent: a second call does nothing. Data
   * frames still held behind a compression go out first.
   */
  sendClose(code?: number, reason = ''): void {
    if (this.close.phase !== ClosePhase.ACTIVE) return;
    this.closeAfterHeldSends(code, reason);
    this.dropDeferredSends();
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

  // --------------------------------------------- output, for the transport

  /** Bytes waiting to be written: in the outbound queue, and held behind a compression. */
  get pendingOutputBytes(): number {
    return (this.frameWriter === null ? 0 : this.frameWriter.bytes) + this.heldBytes + this.encodingBytes + this.deferredBytes;
  }

  /** Of pendingOutputBytes, those held behind a message being compressed off the event loop (not yet in takeOutput()). */
  get heldOutputBytes(): number {
    return this.heldBytes + this.encodingBytes;
  }

  /** Everything queued for the transport, in order (usually one buffer). */
  takeOutput(): Buffer[] {
    return this.frames.take();
  }

  // -------------------------------------- output held behind a compression
  // RFC 7692 compresses whole messages, and the extension may do it off the
  // event loop. Data frames sent meanwhile wait in line behind that message
  // (§5.4: fragments, and so messages, reach the peer "in the order sent"),
  // and so does our close frame (§5.5.1: an endpoint "MAY delay sending a
  // Close frame until its current message is sent"). Control frames go
  // ahead: §5.4, "Control frames (see Section 5.5) MAY be injected in the
  // middle of a fragmented message."

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
      if (this.log !== null) this.log(describeFrame('>', opcode, payload));
      this.encodeBytes(opcode, output, true, true, extension.rsvBits);
      return;
    }
    // Compressing off the event loop: data frames queue up behind it.
    this.encoding = true;
    this.encodingOpcode = opcode;
    this.encodingPayload = payload;
    this.encodingBytes = payload.length;
  }

  /** `owned`: the payload is already our own copy (encoded from a string). */
  private hold(opcode: number, payload: Uint8Array, fin: boolean, transform: boolean, encoded: boolean, owned: boolean): void {
    // The caller's small payloads are copied (send() promises as much); large ones are the caller's to leave alone until written.
    const copy = !owned && !encoded && payload.length <= COPY_THRESHOLD;
    if (this.held === NOTHING_HELD) this.held = [];
    this.held.push({ opcode, payload: copy ? Buffer.from(payload) : payload, fin, transform, encoded, owned: owned || copy });
    this.heldBytes += payload.length;
  }

  /** ExtensionCallback: a message compressed off the event loop. */
  private encodeFinished(error: ConnectionFailure | null, output: Buffer | null): void {
    if (!this.encoding) return; // dropped: the connection failed or ended meanwhile
    this.encoding = false;
    this.encodingBytes = 0;
    const payload = this.encodingPayload!;
    this.encodingPayload = null;
    if (error !== null) {
      this.failWith(error);
    } else {
      if (this.log !== null) this.log(describeFrame('>', this.encodingOpcode, payload));
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
      if (send.encoded) {
        this.writeEncodedFrame(send.payload as Buffer); // (sendEncodedFrame() took a Buffer)
        this.queuedCount++;
      } else if (send.transform) this.transformAndQueue(send.opcode, send.payload);
      else this.encodeBytes(send.opcode, send.payload, send.fin, send.owned);
    }
    if (this.heldHead === this.held.length) {
      this.held = NOTHING_HELD;
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

  /** Keep a data message sent while our fragmented message is open; small payloads are copied (the caller may reuse them). */
  private defer(data: string | Uint8Array, encoded: boolean, compress: boolean | undefined): void {
    const copy = typeof data !== 'string' && !encoded && data.length <= COPY_THRESHOLD;
    if (this.deferred === NOTHING_DEFERRED) this.deferred = [];
    this.deferred.push({ data: copy ? Buffer.from(data) : data, encoded, compress });
    this.deferredBytes += typeof data === 'string' ? data.length : data.length;
  }

  /** The fragmented message is complete: the messages sent meanwhile go, in order. */
  private releaseDeferredSends(): void {
    const deferred = this.deferred;
    if (deferred.length === 0) return;
    this.deferred = NOTHING_DEFERRED;
    this.deferredBytes = 0;
    for (const send of deferred) {
      if (typeof send.data === 'string') this.queueText(send.data, send.compress);
      else if (send.encoded) this.queueEncodedFrame(send.data as Buffer);
      else this.queueBinary(send.data, send.compress);
    }
  }

  /** A close ends our fragmented message where it stands: no data frame may follow (§5.5.1). */
  private dropDeferredSends(): void {
    this.fragmenting = false;
    this.deferred = NOTHING_DEFERRED;
    this.deferredBytes = 0;
  }

  /** Forget the held frames and any compression under way (failing or ending the connection). */
  private dropHeldSends(): void {
    this.dropDeferredSends();
    this.encoding = false;
    this.encodingBytes = 0;
    this.encodingPayload = null;
    this.held = NOTHING_HELD;
    this.heldHead = 0;
    this.heldBytes = 0;
    this.heldClose = null;
  }

  /** §5.5.1: a Close frame, its body a status code and a UTF-8 reason (close-payload.ts); FIN set, as every control frame (§5.5). */
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

  /**
   * §5.5: "All control frames MUST have a payload length of 125 bytes or
   * less". (After our close the application's pings and pongs are refused
   * too; the pongs the core owes the peer still go out, see controlFrameEnd.)
   */
  private assertCanSendControl(payload: Uint8Array): void {
    this.assertCanSendData();
    if (payload.length > 125) {
      throw new LocalError('WS_ERR_CONTROL_PAYLOAD_TOO_LONG', 'control frame payloads are at most 125 bytes (RFC 6455 §5.5)');
    }
  }

  // Every frame we send is queued by one of the three methods below and
  // logged as it is, once, in the order it goes on the wire (frames held
  // behind a compression included); a compressed frame is logged just before,
  // as the message it carries.

  /** Encode a text frame and queue it (frame-writer.ts). */
  private encodeText(opcode: number, text: string, fin: boolean): void {
    if (this.log !== null) this.log(describeFrame('>', opcode, text, fin));
    this.frames.writeTextFrame(opcode, text, fin);
    if (fin) this.queuedCount++; // (text frames are data frames)
  }

  /**
   * Encode a frame with a byte payload and queue it. `owned`: the payload is
   * ours and may be masked in place (so it is logged first). A compressed
   * frame (`rsv` set) is logged by the caller, as the message it carries.
   */
  private encodeBytes(opcode: number, data: Uint8Array, fin: boolean, owned = false, rsv = 0): void {
    if (this.log !== null && rsv === 0) this.log(describeFrame('>', opcode, data, fin));
    this.frames.writeFrame(opcode, data, fin, rsv, owned);
    if (fin && opcode < Opcode.CLOSE) this.queuedCount++; // the last frame of a data message
  }

  /** Queue a frame encoded beforehand (broadcast). */
  private writeEncodedFrame(frame: Buffer): void {
    if (this.log !== null) this.log(describeEncodedFrame('>', frame));
    this.frames.writeEncodedFrame(frame);
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
  return error instanceof InternalError;
}

/** Close reasons must fit 123 bytes (§5.5); error messages here are ASCII. */
function truncateReason(message: string): string {
  return message.length <= 123 ? message : message.slice(0, 123);
}
