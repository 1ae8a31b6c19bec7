/**
 * One upgraded WebSocket connection, server or client side: the shell that
 * joins a socket to the sans-I/O protocol core. It owns what the core must not: the socket, timers
 * (closing handshake, idle, keepalive), events, flow control, and the queue
 * behind `receive()` and `for await (const message of connection)`
 * (message-queue.ts: cancellation-safe, one queue for both), and the
 * MessageStreams of messages above `streamMessagesAbove` (message-stream.ts).
 *
 * Writes are batched: everything the core produces while handling one read
 * (or during one turn of the event loop, for sends made elsewhere) leaves in
 * one socket write.
 *
 * Sending, three ways: send() (a boolean: below the high-water mark or not),
 * sent() (a promise: the message was handed to the kernel, from the socket's
 * write callback; the callback is asked for only while someone waits, so a
 * plain send() allocates nothing for it), sendStream() (one message as
 * fragments as its chunks come, pulling the next chunk only while the socket
 * holds less than sendHighWaterMark). duplex-stream.ts builds a node:stream
 * Duplex on send() and the for-await queue.
 *
 * Fairness and budgets (every connection shares one event loop):
 * - the core does a bounded amount of work per turn of the event loop; when
 *   it keeps input back, reading pauses and the connection waits in the turn
 *   queue (turn-scheduler.ts), which hands out fresh budgets a few
 *   milliseconds' worth per turn of the loop, after every other socket was
 *   served;
 * - while a message is inflated off the event loop, reading pauses until it
 *   is delivered;
 * - messages nobody takes: reading pauses past the queue's bounds, and past
 *   a MessageStream's bound while its consumer lags (memory stays bounded
 *   for a streamed message of any size);
 * - a peer that does not read: reading pauses past WRITE_PAUSE_THRESHOLD;
 *   `sendStallTimeout` closes it (1008) when bytes above the high-water mark
 *   make no progress; `maxPendingPongs` closes it (1008) rather than queue
 *   more pongs it does not take;
 * - what the connection holds (message being received, input kept back,
 *   output not yet taken by the kernel) is reported to the server's memory
 *   budget, which may pause reading (see src/server/memory-budget.ts).
 */
import { EventEmitter } from 'node:events';
import { abortTransport, dropNodesEndListener, type WebSocketTransport } from './transport.js';
import { CloseCode } from '../framing/close-codes.js';
import { ConnectionClosedError, InternalError, LocalError, type ProtocolError } from '../errors.js';
import { Opcode } from '../framing/opcodes.js';
import { Utf8Validator } from '../utf8/utf8-validator.js';
import type { HttpHeaders } from '../handshake/http-head-parser.js';
import type { MaskKeySource } from '../framing/mask-key.js';
import type { MessageExtension } from '../extensions/extension.js';
import { ClosePhase, TransportAction, type CloseInfo } from '../protocol/close-state.js';
import { protocolError } from '../protocol/error-codes.js';
import type { FrameLogger } from '../protocol/frame-log.js';
import type { MessageLimits } from '../protocol/limits.js';
import { WebSocketProtocol, type ProtocolListener } from '../protocol/protocol.js';
import { ReadyState } from '../protocol/ready-state.js';
import { MessageQueue } from './message-queue.js';
import { MessageStream } from './message-stream.js';
import { SMALL_TURN, awaitTurn, chargeInputTime, currentEpoch, inputSliceSpent } from './turn-scheduler.js';
import { checkTopicName, ReadonlySetView, type TopicRegistry } from '../server/topics.js';

/** @internal The parameters of a connection's constructor (see WebSocketConnection.forServer()). */
export type ConnectionArguments<Data> = [
  socket: WebSocketTransport,
  request: ConnectionRequest,
  data: Data,
  options: ConnectionOptions,
  hooks?: ConnectionHooks | null,
  extension?: MessageExtension | null,
];

/** A message as delivered: text as a string, binary as a Buffer. */
export type Message = string | Buffer;

/** Data accepted by send(): strings go as text, bytes as binary. */
export type SendData = string | Buffer | Uint8Array | ArrayBuffer | ArrayBufferView;

/** Options of one send() or sent(). */
export interface SendOptions {
  /**
   * With permessage-deflate negotiated: true compresses this message whatever
   * its size, false sends it uncompressed (RSV1 clear; RFC 7692 §6 lets any
   * message go as it is). Default: compressed from the `threshold` up.
   * Without an extension it changes nothing. Messages stay in order either way.
   */
  compress?: boolean;
}

/** One chunk of a message sent with sendStream(): a string (sent as UTF-8) or bytes. */
export type SendStreamChunk = string | Uint8Array;

/** What sendStream() reads the chunks of one message from: an array or generator, an async generator, a node:stream Readable. */
export type SendStreamSource = Iterable<SendStreamChunk> | AsyncIterable<SendStreamChunk>;

export interface SendStreamOptions {
  /**
   * Send a binary message (true) or a text message (false). Default: text if
   * the first chunk is a string, binary if it is bytes (binary for a source
   * with no chunks). Text bytes are checked as UTF-8 before they are sent.
   */
  binary?: boolean;
}

export interface ConnectionEvents {
  /** A whole message. (A streamed message comes whole here when no 'stream' listener is there: see streamMessagesAbove.) */
  message: [data: Message];
  /**
   * A message above `streamMessagesAbove`, as it starts: read its chunks
   * from the MessageStream (to its end, or discard() it: unread, it stops
   * the connection's input).
   */
  stream: [stream: MessageStream];
  ping: [payload: Buffer];
  pong: [payload: Buffer];
  /**
   * TCP is closed. `code` and `reason` are the peer's close frame's (1005 if
   * it carried no code, 1006 if none arrived: §7.1.5), as a browser's
   * CloseEvent; `info` says the rest: our close frame, who started, whether
   * it was clean, the error if we failed the connection.
   */
  close: [code: number, reason: string, info: CloseInfo];
  /**
   * A protocol error by the peer (ProtocolError), or an error of ours while
   * handling input (InternalError: the connection fails with 1011).
   * Emitted only if someone listens.
   */
  error: [error: Error];
  /** The outbound buffer emptied after send() returned false. */
  drain: [];
}

/**
 * Sees every byte of a connection as it crosses the socket: `'read'` for a
 * chunk the peer sent, before the core parses it (and unmasks it in place),
 * `'write'` for a chunk handed to the socket. Called synchronously; the
 * buffer is valid only during the call, so copy what you keep; it must not
 * throw. For learning and debugging: examples/frame-inspector shows a
 * connection frame by frame with it.
 */
export type WireTap = (direction: 'read' | 'write', bytes: Buffer) => void;

export type { CloseInfo } from '../protocol/close-state.js';

/** What the connection knows of its opening handshake. */
export interface ConnectionRequest {
  path: string;
  query: string;
  headers: HttpHeaders;
  origin: string | undefined;
  /** The subprotocol the server selected, or '' if none (§4.2.2). */
  protocol: string;
  /** The extensions in effect, as answered in Sec-WebSocket-Extensions; '' if none. */
  extensions?: string;
  remoteAddress: string | undefined;
  remotePort: number | undefined;
  /** What the server's route matched: `:name` parameters, and `'*'` for a trailing wildcard (src/server/router.ts). */
  params?: Readonly<Record<string, string>>;
  /** How the handshake came (server side): `'1.1'`, an Upgrade on its own TCP connection; `'2'`, an extended CONNECT stream of an HTTP/2 connection (RFC 8441). */
  httpVersion?: '1.1' | '2';
}

/** A connection without route parameters (client connections, exact routes, the default handler). */
const NO_PARAMS: Readonly<Record<string, string>> = Object.freeze({});
const NO_TOPICS: ReadonlySet<string> = new ReadonlySetView(new Set<string>());

export interface ConnectionOptions extends Omit<MessageLimits, 'streamMessagesAbove'> {
  /** Messages larger than this arrive as a MessageStream (default Infinity: never). */
  streamMessagesAbove?: number;
  /** Which end of the connection this is (§5.1 masking, §7.1.1 who closes TCP first). */
  role: 'server' | 'client';
  /** Client only: masking keys (default: CSPRNG). */
  maskKeySource?: MaskKeySource;
  /** ms to wait for the peer's close frame, then for its TCP close, before dropping the socket. */
  closeTimeout: number;
  /** ms without any traffic before the server closes with 1001; 0 disables. */
  idleTimeout: number;
  /** ms between keepalive pings; a pong must come back before the next one or the connection fails with 1011. 0 disables. */
  pingInterval: number;
  /** send() returns false once this many bytes wait to be written. */
  sendHighWaterMark: number;
  /** The negotiated extension (permessage-deflate), if any. */
  extension?: MessageExtension | null;
  /** Frame log (undefined: the WSRFC_DEBUG default). */
  logger?: FrameLogger | null;
  /** ms that bytes above sendHighWaterMark may wait without the peer taking any, before closing with 1008; 0 disables. */
  sendStallTimeout: number;
  /** Pongs written to the socket and not yet taken by the peer beyond which a further ping closes the connection with 1008. */
  maxPendingPongs: number;
  /** Work units (frames, mostly) processed per turn of the event loop before yielding to other connections. */
  turnBudget: number;
}

const EMPTY = Buffer.alloc(0);

/*
 * Where EventEmitter keeps a connection's listeners (its `_events`), in fast
 * mode. EventEmitter starts with `{ __proto__: null }`, which V8 makes a
 * dictionary: 184 bytes per connection, against ~48 for this object, whose
 * prototype chain has no properties either (no 'toString' listener is found
 * where there is none). Measured with bench/idle-heap.ts. EventEmitter works
 * on it unchanged: it only reads, writes and deletes own keys (and replaces
 * the object once the last listener goes).
 */
const ListenerTable = function ListenerTable() {} as unknown as new () => object;
ListenerTable.prototype = Object.create(null) as object;

/** Reading pauses while more than this many bytes wait to be written to a peer that does not read. */
const WRITE_PAUSE_THRESHOLD = 1024 * 1024;

// The bits of WebSocketConnection's `flags` (one Smi instead of twenty boolean fields: 152 B per connection).
const SOCKET_CLOSED = 1 << 0;
const TRANSPORT_ENDING = 1 << 1;
const RECEIVING = 1 << 2;
const FLUSH_SCHEDULED = 1 << 3;
const AWAITING_PONG = 1 << 4;
const AWAITING_TURN = 1 << 5;
const HEAVY = 1 << 6;
const EOF_PENDING = 1 << 7;
const REPORTING = 1 << 8;
const DRAIN_OWED = 1 << 9;
const PAUSED_FOR_WRITES = 1 << 10;
const PAUSED_FOR_QUEUE = 1 << 11;
const PAUSED_FOR_STREAM = 1 << 12;
const PAUSED_FOR_TURN = 1 << 13;
const PAUSED_FOR_BUDGET = 1 << 14;
const STREAMING = 1 << 15;
const QUEUE_ENDED = 1 << 16;
const ITERATING = 1 << 17;
const ASSEMBLING_BINARY = 1 << 18;
const STREAMS_MESSAGES = 1 << 19;

/**
 * What a connection holds only once it uses it: timers, close bookkeeping,
 * sent() waiters, a streamed message, topics. Made on the first write of a
 * value other than the initial one (WebSocketConnection's accessors); every
 * field is set here, so all of them share one hidden class.
 */
class RareState {
  timedAction: TransportAction | null = null;
  closeTimer: NodeJS.Timeout | undefined = undefined;
  pingTimer: NodeJS.Timeout | undefined = undefined;
  takenAtCheck = 0;
  stallTimer: NodeJS.Timeout | undefined = undefined;
  pongsPending = 0;
  heldReported = 0;
  closeInfo: CloseInfo | null = null;
  closedPromise: Promise<CloseInfo> | null = null;
  resolveClosed: ((info: CloseInfo) => void) | null = null;
  writeWaitersHead = 0;
  outputReadyWaiter: (() => void) | null = null;
  stream: MessageStream | null = null;
  assembling: Array<string | Buffer> | null = null;
  topicNames: Set<string> | null = null;
  topicView: ReadonlySet<string> | null = null;
}

/*
 * The connection is its core's ProtocolListener (the core is given `this`:
 * no listener object or closures per connection), but it does not say
 * `implements ProtocolListener`: those callbacks are tagged internal and
 * stripped from the published declarations, where the clause would then no
 * longer hold. (No at-sign tag in this comment: it would strip the class.)
 */
export class WebSocketConnection<Data = undefined> extends EventEmitter<ConnectionEvents> implements AsyncIterable<Message> {
  /**
   * Per-connection data attached by the server's `authorize` hook. Undefined
   * when the server has no such hook, when the hook accepted without `data`,
   * and on client connections: narrow it before use (`if (ws.data) ...`).
   */
  data: Data | undefined;
  readonly request: ConnectionRequest;

  private readonly socket: WebSocketTransport;
  /** The sans-I/O protocol core this shell drives. */
  private readonly core: WebSocketProtocol;
  private readonly options: ConnectionOptions;
  /** Reports handler errors to the server. */
  /** Shared by every connection of one server: error reports and bookkeeping. */
  private readonly hooks: ConnectionHooks | null;

  /*
   * Idle memory: an idle connection's object is 176 B instead of 448
   * (bench/idle-heap.ts). Its twenty yes/no states are bits of one small
   * integer (`flags`, read and written through the accessors below, under
   * their old names), and the state an idle connection never touches (timers,
   * close bookkeeping, sent() waiters, a streamed message, topics...) lives in
   * a RareState made the first time one of its fields leaves its initial value.
   * What every read, send or flush touches stays in this object.
   */
  private flags = 0;
  /** Timers, close bookkeeping, streaming and topics: null until first needed (see RareState). */
  private rare: RareState | null = null;
  /** The turn of the event loop whose budget the core is spending (light connections). */
  private epoch = -1;
  /** Bytes handed to socket.write() so far (send-stall deadline: bytesTaken()). */
  private bytesFlushed = 0;
  /** Pongs answered since the last flush. */
  private pongsUnflushed = 0;
  /** Sees the bytes read and written (tapWire()); null: off, and costs one check per read and per write. */
  private wireTap: WireTap | null = null;
  /** sent() callers waiting for their message to be handed to the kernel, in message order (from writeWaitersHead on). */
  private writeWaiters: WriteWaiter[] = NO_WAITERS;
  /**
   * The queue receive() and for-await take from (filled when there is no
   * 'message' listener, or a for-await loop, or a receive() waiting).
   */
  private queueOrNull: MessageQueue<Message | MessageStream> | null = null;

  // ---- yes/no states, bits of `flags`
  private get socketClosed(): boolean { return (this.flags & SOCKET_CLOSED) !== 0; }
  private set socketClosed(on: boolean) { this.flags = on ? this.flags | SOCKET_CLOSED : this.flags & ~SOCKET_CLOSED; }
  private get transportEnding(): boolean { return (this.flags & TRANSPORT_ENDING) !== 0; }
  private set transportEnding(on: boolean) { this.flags = on ? this.flags | TRANSPORT_ENDING : this.flags & ~TRANSPORT_ENDING; }
  private get receiving(): boolean { return (this.flags & RECEIVING) !== 0; }
  private set receiving(on: boolean) { this.flags = on ? this.flags | RECEIVING : this.flags & ~RECEIVING; }
  private get flushScheduled(): boolean { return (this.flags & FLUSH_SCHEDULED) !== 0; }
  private set flushScheduled(on: boolean) { this.flags = on ? this.flags | FLUSH_SCHEDULED : this.flags & ~FLUSH_SCHEDULED; }
  private get awaitingPong(): boolean { return (this.flags & AWAITING_PONG) !== 0; }
  private set awaitingPong(on: boolean) { this.flags = on ? this.flags | AWAITING_PONG : this.flags & ~AWAITING_PONG; }
  /** Waiting in the turn queue to go on with the input the core kept back. */
  private get awaitingTurn(): boolean { return (this.flags & AWAITING_TURN) !== 0; }
  private set awaitingTurn(on: boolean) { this.flags = on ? this.flags | AWAITING_TURN : this.flags & ~AWAITING_TURN; }
  /** Used up a turn's budget and not yet found idle: gets new budgets only from the turn queue. */
  private get heavy(): boolean { return (this.flags & HEAVY) !== 0; }
  private set heavy(on: boolean) { this.flags = on ? this.flags | HEAVY : this.flags & ~HEAVY; }
  /** The peer's FIN arrived while input was still kept back: handled once it is processed. */
  private get eofPending(): boolean { return (this.flags & EOF_PENDING) !== 0; }
  private set eofPending(on: boolean) { this.flags = on ? this.flags | EOF_PENDING : this.flags & ~EOF_PENDING; }
  /** An error is being reported: one that an error listener throws meanwhile goes to stderr. */
  private get reporting(): boolean { return (this.flags & REPORTING) !== 0; }
  private set reporting(on: boolean) { this.flags = on ? this.flags | REPORTING : this.flags & ~REPORTING; }
  /** send() returned false: a 'drain' event is owed. */
  private get drainOwed(): boolean { return (this.flags & DRAIN_OWED) !== 0; }
  private set drainOwed(on: boolean) { this.flags = on ? this.flags | DRAIN_OWED : this.flags & ~DRAIN_OWED; }
  // Flow control: reasons reading is paused.
  private get pausedForWrites(): boolean { return (this.flags & PAUSED_FOR_WRITES) !== 0; }
  private set pausedForWrites(on: boolean) { this.flags = on ? this.flags | PAUSED_FOR_WRITES : this.flags & ~PAUSED_FOR_WRITES; }
  private get pausedForQueue(): boolean { return (this.flags & PAUSED_FOR_QUEUE) !== 0; }
  private set pausedForQueue(on: boolean) { this.flags = on ? this.flags | PAUSED_FOR_QUEUE : this.flags & ~PAUSED_FOR_QUEUE; }
  /** A streamed message's consumer has not taken its chunks (message-stream.ts). */
  private get pausedForStream(): boolean { return (this.flags & PAUSED_FOR_STREAM) !== 0; }
  private set pausedForStream(on: boolean) { this.flags = on ? this.flags | PAUSED_FOR_STREAM : this.flags & ~PAUSED_FOR_STREAM; }
  /** The core kept input back (turn budget used up, or a message being inflated). */
  private get pausedForTurn(): boolean { return (this.flags & PAUSED_FOR_TURN) !== 0; }
  private set pausedForTurn(on: boolean) { this.flags = on ? this.flags | PAUSED_FOR_TURN : this.flags & ~PAUSED_FOR_TURN; }
  /** The server's memory budget is exceeded and this connection is among the heaviest. */
  private get pausedForBudget(): boolean { return (this.flags & PAUSED_FOR_BUDGET) !== 0; }
  private set pausedForBudget(on: boolean) { this.flags = on ? this.flags | PAUSED_FOR_BUDGET : this.flags & ~PAUSED_FOR_BUDGET; }
  /** A sendStream() is sending: another one is refused (one message at a time, §5.4). */
  private get streaming(): boolean { return (this.flags & STREAMING) !== 0; }
  private set streaming(on: boolean) { this.flags = on ? this.flags | STREAMING : this.flags & ~STREAMING; }
  /** No more messages will arrive (endQueue() before the queue existed). */
  private get queueEnded(): boolean { return (this.flags & QUEUE_ENDED) !== 0; }
  private set queueEnded(on: boolean) { this.flags = on ? this.flags | QUEUE_ENDED : this.flags & ~QUEUE_ENDED; }
  private get iterating(): boolean { return (this.flags & ITERATING) !== 0; }
  private set iterating(on: boolean) { this.flags = on ? this.flags | ITERATING : this.flags & ~ITERATING; }
  private get assemblingBinary(): boolean { return (this.flags & ASSEMBLING_BINARY) !== 0; }
  private set assemblingBinary(on: boolean) { this.flags = on ? this.flags | ASSEMBLING_BINARY : this.flags & ~ASSEMBLING_BINARY; }
  /** streamMessagesAbove is set: the queue may hold MessageStreams. */
  private get streamsMessages(): boolean { return (this.flags & STREAMS_MESSAGES) !== 0; }

  // ---- state in RareState: its initial value while there is none; a write of anything else makes it
  /** The core's transport action the close timer was last armed for. */
  private get timedAction(): TransportAction | null { return this.rare === null ? null : this.rare.timedAction; }
  private set timedAction(value: TransportAction | null) { if (this.rare !== null || value !== null) this.rareState().timedAction = value; }
  private get closeTimer(): NodeJS.Timeout | undefined { return this.rare === null ? undefined : this.rare.closeTimer; }
  private set closeTimer(value: NodeJS.Timeout | undefined) { if (this.rare !== null || value !== undefined) this.rareState().closeTimer = value; }
  private get pingTimer(): NodeJS.Timeout | undefined { return this.rare === null ? undefined : this.rare.pingTimer; }
  private set pingTimer(value: NodeJS.Timeout | undefined) { if (this.rare !== null || value !== undefined) this.rareState().pingTimer = value; }
  /** Send-stall deadline: how many of the bytes flushed the kernel had taken at the last check. */
  private get takenAtCheck(): number { return this.rare === null ? 0 : this.rare.takenAtCheck; }
  private set takenAtCheck(value: number) { if (this.rare !== null || value !== 0) this.rareState().takenAtCheck = value; }
  private get stallTimer(): NodeJS.Timeout | undefined { return this.rare === null ? undefined : this.rare.stallTimer; }
  private set stallTimer(value: NodeJS.Timeout | undefined) { if (this.rare !== null || value !== undefined) this.rareState().stallTimer = value; }
  /** Pongs written but not yet taken by the peer. */
  private get pongsPending(): number { return this.rare === null ? 0 : this.rare.pongsPending; }
  private set pongsPending(value: number) { if (this.rare !== null || value !== 0) this.rareState().pongsPending = value; }
  /** Bytes last reported to the memory budget. */
  private get heldReported(): number { return this.rare === null ? 0 : this.rare.heldReported; }
  private set heldReported(value: number) { if (this.rare !== null || value !== 0) this.rareState().heldReported = value; }
  /** How the connection ended, once it has; the `closed` promise, once asked for. */
  private get closeInfo(): CloseInfo | null { return this.rare === null ? null : this.rare.closeInfo; }
  private set closeInfo(value: CloseInfo | null) { if (this.rare !== null || value !== null) this.rareState().closeInfo = value; }
  private get closedPromise(): Promise<CloseInfo> | null { return this.rare === null ? null : this.rare.closedPromise; }
  private set closedPromise(value: Promise<CloseInfo> | null) { if (this.rare !== null || value !== null) this.rareState().closedPromise = value; }
  private get resolveClosed(): ((info: CloseInfo) => void) | null { return this.rare === null ? null : this.rare.resolveClosed; }
  private set resolveClosed(value: ((info: CloseInfo) => void) | null) { if (this.rare !== null || value !== null) this.rareState().resolveClosed = value; }
  private get writeWaitersHead(): number { return this.rare === null ? 0 : this.rare.writeWaitersHead; }
  private set writeWaitersHead(value: number) { if (this.rare !== null || value !== 0) this.rareState().writeWaitersHead = value; }
  /** sendStream() waits for a message compressed off the event loop to be queued (onOutputReady) or for TCP to close. */
  private get outputReadyWaiter(): (() => void) | null { return this.rare === null ? null : this.rare.outputReadyWaiter; }
  private set outputReadyWaiter(value: (() => void) | null) { if (this.rare !== null || value !== null) this.rareState().outputReadyWaiter = value; }
  // The message being streamed (streamMessagesAbove): as a MessageStream, and/or assembled for 'message' listeners.
  private get stream(): MessageStream | null { return this.rare === null ? null : this.rare.stream; }
  private set stream(value: MessageStream | null) { if (this.rare !== null || value !== null) this.rareState().stream = value; }
  private get assembling(): Array<string | Buffer> | null { return this.rare === null ? null : this.rare.assembling; }
  private set assembling(value: Array<string | Buffer> | null) { if (this.rare !== null || value !== null) this.rareState().assembling = value; }
  // Topics (src/server/topics.ts): the ones this connection is in, and their read-only view.
  private get topicNames(): Set<string> | null { return this.rare === null ? null : this.rare.topicNames; }
  private set topicNames(value: Set<string> | null) { if (this.rare !== null || value !== null) this.rareState().topicNames = value; }
  private get topicView(): ReadonlySet<string> | null { return this.rare === null ? null : this.rare.topicView; }
  private set topicView(value: ReadonlySet<string> | null) { if (this.rare !== null || value !== null) this.rareState().topicView = value; }

  private rareState(): RareState {
    return (this.rare ??= new RareState());
  }

  /** @internal A server-side (or test) connection over `socket`; see the constructor. */
  static forServer<Data>(...args: ConnectionArguments<Data>): WebSocketConnection<Data> {
    return new WebSocketConnection<Data>(...args);
  }

  /**
   * Applications do not construct connections: a server's handler gets
   * each one, and connect() resolves to one. (This signature, which no call
   * can satisfy, is what the published declarations show: without it, the
   * stripped internal one would leave an implicit public constructor.)
   */
  protected constructor(socket: never, request: never, data: never, options: never);
  /** @internal */
  protected constructor(...args: ConnectionArguments<Data>);
  /** @internal The server's connections are made by forServer(); ClientConnection extends this class. */
  protected constructor(
    socket: WebSocketTransport,
    request: ConnectionRequest,
    data: Data,
    options: ConnectionOptions,
    hooks: ConnectionHooks | null = null,
    /**
     * The negotiated extension: given apart from `options` so that a server
     * passes its one options object, not a copy per deflate connection (~150 B
     * kept for the connection's life). Default: `options.extension`.
     */
    extension: MessageExtension | null = options.extension ?? null,
  ) {
    super();
    (this as unknown as { _events: object })._events = new ListenerTable();
    this.socket = socket;
    this.request = request;
    this.data = data;
    this.options = options;
    this.hooks = hooks;
    if ((options.streamMessagesAbove ?? Infinity) !== Infinity) this.flags = STREAMS_MESSAGES;
    const listener: ProtocolListener = this; // the callbacks below, "ProtocolListener (core)"
    this.core = new WebSocketProtocol(listener, {
      role: options.role,
      maskKeySource: options.maskKeySource,
      maxMessageSize: options.maxMessageSize,
      maxFrameSize: options.maxFrameSize,
      maxFragments: options.maxFragments,
      streamMessagesAbove: options.streamMessagesAbove,
      logger: options.logger,
      extension,
      turnBudget: options.turnBudget,
    });
    // The listeners are shared functions that find this connection through
    // the socket: no closure per connection (idle memory, see bench/RESULTS.md).
    (socket as OwnedSocket)[kConnection] = this as WebSocketConnection<unknown>;
    socket.on('data', socketData);
    dropNodesEndListener(socket);
    socket.on('end', socketEnd);
    socket.on('close', socketClose);
    socket.on('error', socketError);
    socket.on('drain', socketDrain);
    if (options.idleTimeout > 0) {
      socket.setTimeout(options.idleTimeout, socketIdle);
    }
    if (options.pingInterval > 0) {
      this.pingTimer = setInterval(pingTimerFired, options.pingInterval, this);
      this.pingTimer.unref();
    }
  }

  /** @internal Feed the bytes that arrived right behind the upgrade request, then start reading. */
  start(initialBytes: Buffer): void {
    if (initialBytes.length > 0) this.receiveBytes(initialBytes);
    this.updateReading();
  }

  // ------------------------------------------------------------ public API

  get readyState(): ReadyState {
    return this.socketClosed ? ReadyState.CLOSED : this.core.readyState;
  }

  get path(): string {
    return this.request.path;
  }

  get headers(): HttpHeaders {
    return this.request.headers;
  }

  /** The subprotocol selected during the handshake, '' if none (§4.2.2 item 5.5). */
  get protocol(): string {
    return this.request.protocol;
  }

  /** The extensions in effect ('' if none), e.g. `permessage-deflate; server_max_window_bits=10`. */
  get extensions(): string {
    return this.request.extensions ?? '';
  }

  get query(): string {
    return this.request.query;
  }

  get origin(): string | undefined {
    return this.request.origin;
  }

  get remoteAddress(): string | undefined {
    return this.request.remoteAddress;
  }

  /**
   * What the server's route matched in the path, percent-decoded: one entry
   * per `:name` of the pattern, and `'*'` for the rest of the path under a
   * trailing wildcard (`/files/*` on `/files/a/b.txt`: `{ '*': 'a/b.txt' }`).
   * Empty on client connections and for exact routes.
   */
  get params(): Readonly<Record<string, string>> {
    return this.request.params ?? NO_PARAMS;
  }

  // ---------------------------------------------------------------- topics

  /**
   * Join `topic`: `server.publish(topic, ...)` reaches this connection until
   * it unsubscribes or closes. Returns false if it was already subscribed.
   * Server connections only. Throws LocalError WS_ERR_INVALID_TOPIC (not a
   * string of 1 to 256 UTF-8 bytes), WS_ERR_TOO_MANY_TOPICS (past the
   * server's `maxTopicsPerConnection`), WS_ERR_NO_TOPICS (a client
   * connection), ConnectionClosedError once the connection is closed.
   */
  subscribe(topic: string): boolean {
    const topics = this.topicHooks();
    checkTopicName(topic);
    if (this.socketClosed) throw new ConnectionClosedError(this.closeInfo?.code, this.closeInfo?.reason);
    let names = this.topicNames;
    if (names === null) names = this.topicNames = new Set();
    if (names.has(topic)) return false;
    if (names.size >= topics.maxPerConnection) {
      throw new LocalError('WS_ERR_TOO_MANY_TOPICS', `a connection may be in at most ${topics.maxPerConnection} topics (maxTopicsPerConnection)`);
    }
    names.add(topic);
    topics.registry.subscribe(topic, this as WebSocketConnection<unknown>);
    return true;
  }

  /** Leave `topic`. Returns false if this connection was not subscribed to it. */
  unsubscribe(topic: string): boolean {
    const topics = this.topicHooks();
    checkTopicName(topic);
    if (this.topicNames === null || !this.topicNames.delete(topic)) return false;
    topics.registry.unsubscribe(topic, this as WebSocketConnection<unknown>);
    return true;
  }

  /** The topics this connection is subscribed to (a read-only view: use subscribe()/unsubscribe()). */
  get topics(): ReadonlySet<string> {
    if (this.topicNames === null) return NO_TOPICS;
    return (this.topicView ??= new ReadonlySetView(this.topicNames));
  }

  private topicHooks(): NonNullable<ConnectionHooks['topics']> {
    const topics = this.hooks?.topics;
    if (topics === undefined) throw new LocalError('WS_ERR_NO_TOPICS', 'topics are a server feature: this connection has no topic registry');
    return topics;
  }

  /** TCP closed: the connection leaves every topic it was in. */
  private leaveTopics(): void {
    const names = this.topicNames;
    const registry = this.hooks?.topics?.registry;
    if (names === null || registry === undefined) return;
    for (const topic of names) registry.unsubscribe(topic, this as WebSocketConnection<unknown>);
    names.clear();
  }

  /** Bytes accepted by send() and not yet handed to the kernel. */
  get bufferedAmount(): number {
    return this.core.pendingOutputBytes + this.socket.writableLength;
  }

  /**
   * Send a message: a string as a text frame, bytes as a binary frame.
   * Returns false when `bufferedAmount` passed the high-water mark: wait for
   * 'drain' before sending more. Throws ConnectionClosedError if the
   * connection is closing or closed. Buffers over 4 KiB are sent without a
   * copy: do not modify them until 'drain' (or bufferedAmount is 0).
   */
  send(data: SendData, options?: SendOptions): boolean {
    const compress = options === undefined ? undefined : options.compress;
    if (typeof data === 'string') this.core.sendText(data, compress);
    else this.core.sendBinary(toBytes(data), compress);
    this.scheduleFlush();
    return this.belowHighWaterMark();
  }

  /**
   * send(), and learn the outcome: resolves once the message's last byte was
   * handed to the kernel (the socket's write callback; not a sign that the
   * peer received it), rejects with ConnectionClosedError if the connection
   * ends first (or with the socket's error if the write failed), and at once
   * for what send() would throw. Backpressure is not applied: check
   * `bufferedAmount`, or await each sent() in turn (which bounds what waits
   * to one message). A plain send() pays nothing for this.
   */
  sent(data: SendData, options?: SendOptions): Promise<void> {
    try {
      this.send(data, options);
    } catch (error) {
      return Promise.reject(error);
    }
    return this.whenWritten(this.core.messagesSent);
  }

  /**
   * Send one message made of the chunks of `source`, as they come, as
   * fragments (§5.4): the first frame TEXT or BINARY with FIN clear, then
   * CONTINUATION frames, then an empty final CONTINUATION with FIN once the
   * source ends (a source with no chunks makes an empty message). Memory
   * stays bounded: after each chunk, while `sendHighWaterMark` bytes wait
   * for the kernel, the next chunk is not pulled from the source. Resolves
   * when the last frame was handed to the kernel.
   *
   * - Pings, pongs and a close may go between the fragments (§5.4: control
   *   frames "MAY be injected in the middle of a fragmented message").
   * - send() meanwhile is accepted but waits, in order, for the end of the
   *   message (its fragments "MUST NOT be interleaved" with another
   *   message's); a second sendStream() meanwhile throws LocalError
   *   WS_ERR_STREAM_IN_PROGRESS.
   * - A message cannot be taken back once a fragment is out: if the source
   *   throws (or text bytes are not UTF-8, WS_ERR_SEND_INVALID_UTF8), the
   *   connection is failed with 1011 and the promise rejects with that
   *   error. Before the first fragment nothing is sent and the connection
   *   carries on. If the connection closes meanwhile, it rejects with
   *   ConnectionClosedError and the source is closed (return()).
   * - Streamed messages are never compressed (RSV1 clear; RFC 7692 §6
   *   allows it): the deflate codec works on whole messages.
   * - Bytes over 4 KiB are sent without a copy: a chunk must not change
   *   once the source handed it over (a Readable's never do).
   */
  async sendStream(source: SendStreamSource, options: SendStreamOptions = {}): Promise<void> {
    if (this.streaming) throw new LocalError('WS_ERR_STREAM_IN_PROGRESS', 'sendStream(): another message is being streamed on this connection');
    if (this.core.readyState !== ReadyState.OPEN) throw this.closedError();
    const chunks = new StreamSourceReader(source, this.closed); // (a TypeError for a source that is not iterable)
    this.streaming = true;
    const core = this.core;
    let opcode: typeof Opcode.TEXT | typeof Opcode.BINARY | 0 = options.binary === undefined ? 0 : options.binary ? Opcode.BINARY : Opcode.TEXT;
    let started = false;
    /** This message's number among the connection's data messages (whenWritten()). */
    let message = 0;
    // Text given as bytes is checked across chunk boundaries (§8.1: the whole message must be UTF-8).
    let utf8: Utf8Validator | null = null;
    // A high surrogate that ended a string chunk: joined to the next chunk, so that a pair split across chunks stays one character.
    let surrogate = '';
    try {
      for (;;) {
        const chunk = await chunks.next();
        if (chunk === SOURCE_DONE) break;
        if (chunk === CONNECTION_CLOSED) throw this.closedError();
        let data = streamChunk(chunk);
        if (opcode === 0) opcode = typeof data === 'string' ? Opcode.TEXT : Opcode.BINARY;
        if (typeof data === 'string') {
          if (utf8 !== null && !utf8.isComplete()) throw invalidUtf8ToSend();
          if (surrogate !== '') data = surrogate + data;
          const last = data.charCodeAt(data.length - 1);
          surrogate = last >= 0xd800 && last <= 0xdbff ? data.slice(-1) : '';
          if (surrogate !== '') data = data.slice(0, -1);
        } else if (surrogate !== '') {
          // A lone high surrogate before bytes: encoded as UTF-8 encodes it (U+FFFD) in a binary message; never valid in a text one.
          if (opcode === Opcode.TEXT) throw invalidUtf8ToSend();
          data = Buffer.concat([Buffer.from(surrogate, 'utf8'), data]);
          surrogate = '';
        } else if (opcode === Opcode.TEXT) {
          utf8 ??= new Utf8Validator();
          if (!utf8.write(data)) throw invalidUtf8ToSend();
        }
        if (data.length === 0) continue;
        core.sendFragment(started ? Opcode.CONTINUATION : opcode, data, false);
        if (!started) message = core.messagesSent;
        started = true;
        await this.streamBackpressure();
      }
      if (utf8 !== null && !utf8.isComplete()) throw invalidUtf8ToSend();
      core.sendFragment(started ? Opcode.CONTINUATION : opcode === 0 ? Opcode.BINARY : opcode, surrogate, true);
      if (!started) message = core.messagesSent;
    } catch (error) {
      if (started && !(error instanceof ConnectionClosedError)) {
        // The fragments already out cannot be taken back (RFC 6455 has no way
        // to cancel a message): fail the connection, as for an error of ours.
        core.fail(new InternalError(error));
        this.afterProtocolActivity();
      }
      chunks.close();
      throw error;
    } finally {
      this.streaming = false;
    }
    this.scheduleFlush();
    return this.whenWritten(message);
  }

  /** Write the fragments queued so far, and wait while the socket holds sendHighWaterMark bytes or more. */
  private async streamBackpressure(): Promise<void> {
    this.flush();
    const socket = this.socket;
    if (this.core.heldOutputBytes >= this.options.sendHighWaterMark && !socket.destroyed) {
      // The fragments wait behind a message being compressed off the event loop: pull no more until it is out.
      await new Promise<void>((resolve) => (this.outputReadyWaiter = resolve));
      return this.streamBackpressure();
    }
    if (socket.destroyed || socket.writableLength < this.options.sendHighWaterMark || !socket.writableNeedDrain) return;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private wakeStream(): void {
    const waiter = this.outputReadyWaiter;
    if (waiter !== null) {
      this.outputReadyWaiter = null;
      waiter();
    }
  }

  /** A promise for the `message`th data message being handed to the kernel (see flush()). */
  private whenWritten(message: number): Promise<void> {
    if (this.socketClosed) return Promise.reject(this.closedError());
    return new Promise((resolve, reject) => {
      if (this.writeWaiters === NO_WAITERS) this.writeWaiters = []; // (idle connections hold no array)
      const waiters = this.writeWaiters;
      waiters.push({ message, resolve, reject });
      // Kept in message order: a streamed message, numbered at its first
      // fragment, asks only at its end, after the messages sent meanwhile.
      for (let i = waiters.length - 1; i > this.writeWaitersHead && waiters[i - 1].message > message; i--) {
        const later = waiters[i - 1];
        waiters[i - 1] = waiters[i];
        waiters[i] = later;
      }
    });
  }

  /** The socket's write callback for a write that carried data messages up to the `queued`th. */
  private messagesWritten(queued: number, error: Error | null | undefined): void {
    const waiters = this.writeWaiters;
    while (this.writeWaitersHead < waiters.length && waiters[this.writeWaitersHead].message <= queued) {
      const waiter = waiters[this.writeWaitersHead];
      waiters[this.writeWaitersHead++] = undefined as unknown as WriteWaiter;
      if (error) waiter.reject(error);
      else waiter.resolve();
    }
    if (this.writeWaitersHead === waiters.length) {
      this.writeWaiters = NO_WAITERS;
      this.writeWaitersHead = 0;
    }
  }

  /** TCP closed: the messages not yet handed to the kernel never will be. */
  private rejectWriteWaiters(): void {
    const waiters = this.writeWaiters;
    if (this.writeWaitersHead === waiters.length) return;
    const error = this.closedError();
    for (let i = this.writeWaitersHead; i < waiters.length; i++) waiters[i].reject(error);
    this.writeWaiters = NO_WAITERS;
    this.writeWaitersHead = 0;
  }

  /**
   * @internal
   * Send a frame encoded once with encodeFrame() (see WebSocketServer.broadcast).
   * Same return value and errors as send().
   */
  sendEncodedFrame(frame: Buffer): boolean {
    this.core.sendEncodedFrame(frame);
    this.scheduleFlush();
    return this.belowHighWaterMark();
  }

  /** send()'s answer; a false one promises a 'drain' event. */
  private belowHighWaterMark(): boolean {
    if (this.bufferedAmount < this.options.sendHighWaterMark) return true;
    this.drainOwed = true;
    return false;
  }

  /** Send a ping (§5.5.2); the peer's pong arrives as a 'pong' event. */
  ping(payload: SendData = ''): void {
    this.core.sendPing(typeof payload === 'string' ? Buffer.from(payload) : toBytes(payload));
    this.scheduleFlush();
  }

  /**
   * Start the closing handshake (§7.1.2). The connection stays readable until
   * the peer answers; after `closeTimeout` without an answer the socket is
   * dropped. A second call does nothing. Throws LocalError for a code that
   * may not be sent or a reason over 123 bytes.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.readyState !== ReadyState.OPEN) return;
    this.core.sendClose(code, reason);
    this.afterProtocolActivity();
  }

  /**
   * Watch the bytes of this connection as they are read from and written to
   * the socket, frame headers and masking keys included (null: stop). Set it
   * in the connection handler to see the first frames too.
   */
  tapWire(tap: WireTap | null): void {
    this.wireTap = tap;
  }

  /** Drop the TCP connection at once, without a closing handshake (over HTTP/2: reset the stream, RST_STREAM CANCEL). */
  terminate(): void {
    this.core.terminate();
    abortTransport(this.socket);
  }

  /**
   * The next message, in arrival order. Cancellation-safe: a `timeout`
   * (rejects with LocalError `WS_ERR_RECEIVE_TIMEOUT`) or an aborted
   * `signal` (rejects with its reason) gives up the wait, never a message,
   * which stays queued for the next taker. Concurrent calls are served in
   * call order. Once the connection is closing and the messages that came
   * before the peer's close are taken, rejects with ConnectionClosedError
   * (its `info` says how the connection ended).
   *
   * receive() and `for await` take from one queue: both may be used, each
   * message goes to exactly one of them, in the order they asked. With a
   * 'message' listener (and no loop), a message is queued for receive() only
   * while a receive() waits; the listener sees every message regardless.
   */
  receive(options?: { timeout?: number; signal?: AbortSignal; streams?: false }): Promise<Message>;
  /**
   * With `streams: true`, a message above `streamMessagesAbove` comes as
   * the MessageStream itself (read its chunks as they arrive); without, it
   * comes whole (assembled, bounded by maxMessageSize).
   */
  receive(options: { timeout?: number; signal?: AbortSignal; streams: true }): Promise<Message | MessageStream>;
  receive(options?: { timeout?: number; signal?: AbortSignal; streams?: boolean }): Promise<Message | MessageStream> {
    this.endQueueIfFinished();
    const taken = this.queue.take(options);
    return options?.streams === true || !this.streamsMessages ? taken : taken.then(whole);
  }

  /**
   * Messages in arrival order; ends when the connection closes (after the
   * messages that came before). One loop at a time; shares its queue with
   * receive().
   */
  [Symbol.asyncIterator](): AsyncIterator<Message> {
    if (this.iterating) throw new LocalError('WS_ERR_ALREADY_ITERATING', 'a connection can be iterated by one loop at a time');
    this.iterating = true;
    return {
      next: () => {
        this.endQueueIfFinished();
        const next = this.queue.next() as Promise<IteratorResult<Message>>;
        if (!this.streamsMessages) return next;
        // A streamed message is assembled for the loop (use receive({ streams: true }) to read it as it comes).
        return next.then(async (result) => (result.done === true ? result : { value: await whole(result.value), done: false }));
      },
      return: async () => {
        this.iterating = false;
        return { value: undefined, done: true };
      },
    };
  }

  // ------------------------------------------------- ProtocolListener (core)
  // Called by the core only: tagged internal, not in the published declarations.

  /** @internal */
  onText(text: string): void {
    this.deliver(text, text.length);
  }

  /** @internal */
  onBinary(data: Buffer): void {
    this.deliver(data, data.length);
  }

  /** @internal */
  onPing(payload: Buffer): void {
    if (this.pongsPending >= this.options.maxPendingPongs) {
      // The peer keeps pinging but does not read our pongs: close rather than
      // queue more of them (its memory would be ours).
      this.dropNonReader(protocolError('WS_ERR_TOO_MANY_PONGS', 'too many pongs not read'));
      return;
    }
    this.pongsUnflushed++; // the core queued the pong before telling us (§5.5.2)
    if (this.listenerCount('ping') > 0) this.safeEmit('ping', payload);
  }

  /** @internal */
  onPong(payload: Buffer): void {
    this.awaitingPong = false;
    if (this.listenerCount('pong') > 0) this.safeEmit('pong', payload);
  }

  /** @internal */
  onMessageStart(binary: boolean): void {
    const streamListeners = this.listenerCount('stream') > 0;
    const messageListeners = this.listenerCount('message') > 0;
    const queued = this.iterating || this.hasTakers() || (!streamListeners && !messageListeners);
    if (streamListeners || queued) {
      const stream = MessageStream.create(binary, (paused) => this.setPausedForStream(paused));
      this.stream = stream;
      if (streamListeners) this.safeEmit('stream', stream);
      if (queued) this.queue.push(stream, 0); // (its chunks are bounded by the stream itself)
    }
    if (messageListeners && !streamListeners) {
      // 'message' listeners get it whole, when it ends, in order with the other messages.
      this.assembling = [];
      this.assemblingBinary = binary;
    }
  }

  /** @internal */
  onMessageChunk(chunk: string | Buffer): void {
    this.stream?.push(chunk);
    this.assembling?.push(chunk);
  }

  /** @internal */
  onMessageEnd(): void {
    this.stream?.end();
    this.stream = null;
    const parts = this.assembling;
    if (parts !== null) {
      this.assembling = null;
      const message = this.assemblingBinary ? Buffer.concat(parts as Buffer[]) : (parts as string[]).join('');
      try {
        this.emit('message', message);
      } catch (error) {
        this.handlerFailed(error);
      }
    }
  }

  /** The message being streamed will not be completed: its reader gets `error` after the chunks that came. */
  private abandonStream(error: unknown): void {
    this.assembling = null;
    const stream = this.stream;
    if (stream === null) return;
    this.stream = null;
    stream.fail(error);
  }

  /** A ConnectionClosedError for the connection as it stands. */
  private closedError(): ConnectionClosedError {
    const info = this.closeInfo ?? this.core.closeInfo;
    return new ConnectionClosedError(info.code, info.reason, info);
  }

  /** @internal */
  onCloseFrame(): void {
    // The core queued our answer; afterProtocolActivity() flushes it and closes TCP.
    // No message comes after the peer's close (§5.5.1): receive() callers waiting now learn it.
    this.abandonStream(this.closedError());
    this.endQueue();
  }

  /** @internal */
  onProtocolError(error: ProtocolError): void {
    this.abandonStream(error);
    this.endQueue();
    if (this.listenerCount('error') > 0) this.safeEmit('error', error);
  }

  /** @internal */
  onInternalError(error: InternalError): void {
    this.abandonStream(error);
    this.endQueue();
    // The core failed the connection with 1011; the bug is worth a report.
    this.report(error);
  }

  /** @internal */
  onInputReady(): void {
    // A message inflated off the event loop is ready: it is delivered in this
    // connection's next turn, in line with the others.
    if (!this.awaitingTurn) {
      this.awaitingTurn = true;
      awaitTurn(this as WebSocketConnection<unknown>);
    }
  }

  /** @internal */
  onOutputReady(): void {
    // A message compressed off the event loop, and what waited behind it, is queued.
    this.afterProtocolActivity();
    this.wakeStream();
    // send() may have answered false because of bytes held for compression:
    // the 'drain' it promised comes once everything is written, even if the
    // compressed bytes were too few to make the socket itself report a drain.
    if (this.drainOwed && this.core.pendingOutputBytes === 0 && !this.socketClosed) {
      if (this.socket.writableLength === 0) this.drained();
      else if (!this.socket.writableNeedDrain) this.socket.write(EMPTY, () => this.drained());
    }
  }

  // ---------------------------------------------------------------- socket

  /** @internal Bytes from the socket. */
  receiveBytes(chunk: Buffer): void {
    if (this.wireTap !== null) this.wireTap('read', chunk);
    const epoch = currentEpoch();
    if (epoch !== this.epoch) {
      const previous = this.epoch;
      this.epoch = epoch;
      if (!this.heavy) {
        // A light connection gets a fresh budget each turn of the event loop.
        this.core.beginTurn();
      } else if (epoch > previous + 1 && !this.core.turnSpent) {
        // A whole turn went by without it using up its budget: light again.
        this.heavy = false;
        this.core.beginTurn();
      }
      // Otherwise it goes on with what is left of the budget the turn queue
      // gave it, and waits in the queue again once that is spent.
    }
    // The loop has spent its share on input in this turn: a light connection
    // gets a small bite; a heavy one keeps what it read for the queue.
    if (inputSliceSpent()) this.core.limitTurn(this.heavy ? 0 : SMALL_TURN);
    const started = performance.now();
    this.receiving = true;
    try {
      this.core.receiveData(chunk);
    } catch (error) {
      // (The core catches what its input processing throws; this is the last guard of the socket's 'data' handler.)
      this.internalFailure(error);
    } finally {
      this.receiving = false;
    }
    this.afterInput();
    chargeInputTime(performance.now() - started);
  }

  /** @internal TurnTaker: the turn queue gives this connection a new turn (or an inflated message is ready). */
  takeTurn(): void {
    this.awaitingTurn = false;
    if (this.socketClosed) return;
    const core = this.core;
    if (!core.hasPendingInput && !core.waitingForExtension) {
      // Its last turn ended exactly where its input did: nothing was kept
      // back, so it may read again, but a queue turn is not a fresh budget
      // for reads (those belong to the poll phase's share): it gets a small
      // one, and is light again only after a whole turn of the loop in which
      // it did not use up its budget.
      core.beginTurn();
      core.limitTurn(SMALL_TURN);
      this.epoch = currentEpoch();
      this.afterInput();
      return;
    }
    this.receiving = true;
    try {
      this.core.resumeInput(); // a fresh budget
    } catch (error) {
      this.internalFailure(error);
    } finally {
      this.receiving = false;
    }
    this.epoch = currentEpoch();
    this.afterInput();
  }

  /** After the core processed input: write, and pause reading while it keeps input back. */
  private afterInput(): void {
    this.afterProtocolActivity();
    const core = this.core;
    if (core.hasPendingInput || core.waitingForExtension || core.turnSpent) {
      if (!this.pausedForTurn) {
        this.pausedForTurn = true;
        this.updateReading();
      }
      // Yield: other connections' reads and timers run before this one goes on.
      if (!core.waitingForExtension && !this.awaitingTurn) {
        this.awaitingTurn = true;
        this.heavy = true;
        awaitTurn(this as WebSocketConnection<unknown>);
      }
      return;
    }
    if (this.pausedForTurn) {
      this.pausedForTurn = false;
      this.updateReading();
    }
    if (this.eofPending) {
      this.eofPending = false;
      this.peerEnded();
    }
  }

  /** @internal The peer half-closed TCP. */
  peerEnded(): void {
    if (this.core.hasPendingInput || this.core.waitingForExtension) {
      // What the peer sent before its FIN is processed first.
      this.eofPending = true;
      return;
    }
    // The peer half-closed TCP. Without its close frame first, this is an
    // abnormal closure (1006); either way we finish writing and close too.
    this.core.receiveEof();
    this.endTransport();
  }

  /** @internal TCP is closed. */
  socketClosedEvent(): void {
    if (this.socketClosed) return;
    this.socketClosed = true;
    clearTimeout(this.closeTimer);
    clearInterval(this.pingTimer);
    clearTimeout(this.stallTimer);
    this.core.transportClosed();
    this.reportHeld(0);
    this.rejectWriteWaiters();
    this.wakeStream();
    const info = this.core.closeInfo;
    this.closeInfo = info;
    this.abandonStream(this.closedError());
    this.endQueue();
    this.resolveClosed?.(info);
    this.leaveTopics();
    this.hooks?.closed(this as WebSocketConnection<unknown>);
    this.safeEmit('close', info.code, info.reason, info);
  }

  /**
   * Resolves once TCP is closed, with how the connection ended: the peer's
   * close code and reason (as a browser's CloseEvent), whether the closing
   * handshake completed, our close frame, who started, and our error if we
   * failed the connection.
   */
  get closed(): Promise<CloseInfo> {
    if (this.closedPromise === null) {
      this.closedPromise = this.closeInfo !== null ? Promise.resolve(this.closeInfo) : new Promise((resolve) => (this.resolveClosed = resolve));
    }
    return this.closedPromise;
  }

  /** @internal The socket drained its write buffer. */
  drained(): void {
    if (this.core.pendingOutputBytes === 0) this.drainOwed = false;
    this.pongsPending = 0;
    clearTimeout(this.stallTimer);
    this.stallTimer = undefined;
    this.reportHeld(this.heldBytes());
    if (this.pausedForWrites) {
      this.pausedForWrites = false;
      this.updateReading();
    }
    if (this.core.pendingOutputBytes === 0 && this.listenerCount('drain') > 0) this.safeEmit('drain');
  }

  /** @internal No traffic for idleTimeout. */
  idle(): void {
    if (this.readyState === ReadyState.OPEN) this.close(CloseCode.GOING_AWAY, 'idle timeout');
  }

  /** @internal The keepalive interval elapsed. */
  keepaliveTick(): void {
    if (this.readyState !== ReadyState.OPEN) return;
    if (this.awaitingPong) {
      // No pong for a whole interval: the peer is gone or stuck.
      this.core.fail(protocolError('WS_ERR_KEEPALIVE_TIMEOUT', 'keepalive ping timeout'));
      this.afterProtocolActivity();
      return;
    }
    this.awaitingPong = true;
    this.core.sendPing();
    this.flush();
  }

  // --------------------------------------------------------------- output

  private scheduleFlush(): void {
    if (this.receiving || this.flushScheduled) return; // onData flushes when it is done
    this.flushScheduled = true;
    process.nextTick(flushScheduled, this);
  }

  /** @internal The flush scheduled by a send outside of a read. */
  scheduledFlush(): void {
    this.flushScheduled = false;
    this.afterProtocolActivity();
  }

  /** Write what the core produced, then do with TCP what the core says (close-state.ts). */
  private afterProtocolActivity(): void {
    this.flush();
    if (this.hooks !== null && this.hooks.budget !== undefined) this.reportHeld(this.heldBytes());
    const action = this.core.transportAction;
    switch (action) {
      case TransportAction.KEEP_OPEN:
        return;
      case TransportAction.CLOSE_NOW:
        this.endTransport();
        return;
      case TransportAction.AWAIT_CLOSE_FRAME: // our close is out: the peer has closeTimeout to answer
      case TransportAction.AWAIT_PEER_CLOSE: // client, handshake done: the server has closeTimeout to close TCP
        if (this.timedAction !== action) {
          this.timedAction = action;
          this.armCloseTimer();
        }
        return;
    }
  }

  private flush(): void {
    if (this.core.pendingOutputBytes === 0) return;
    const chunks = this.core.takeOutput();
    const socket = this.socket;
    // (Bytes held behind a compression count as pending but are not output yet.)
    if (chunks.length === 0 || socket.destroyed || this.transportEnding) return;
    if (this.wireTap !== null) for (const chunk of chunks) this.wireTap('write', chunk);
    const pongs = this.pongsUnflushed;
    this.pongsUnflushed = 0;
    // Only pongs and sent() callers need to hear that the write is done: a plain send() allocates nothing here.
    const done = pongs === 0 && this.writeWaitersHead === this.writeWaiters.length ? undefined : this.afterWrite(pongs);
    if (chunks.length === 1) {
      this.bytesFlushed += chunks[0].length;
      socket.write(chunks[0], done);
    } else {
      socket.cork();
      const last = chunks.length - 1;
      for (let i = 0; i < last; i++) {
        this.bytesFlushed += chunks[i].length;
        socket.write(chunks[i]);
      }
      this.bytesFlushed += chunks[last].length;
      socket.write(chunks[last], done);
      socket.uncork();
    }
    if (this.stallTimer === undefined && this.options.sendStallTimeout > 0 && socket.writableLength > this.options.sendHighWaterMark) {
      // Above the high-water mark: from now on the peer must take bytes at
      // least once per sendStallTimeout.
      this.takenAtCheck = this.bytesTaken();
      this.stallTimer = setTimeout(stallCheck, this.options.sendStallTimeout, this);
      this.stallTimer.unref();
    }
    if (!this.pausedForWrites && socket.writableLength > WRITE_PAUSE_THRESHOLD) {
      // The peer is not reading what we write: stop reading what it sends
      // (its pings would otherwise pile up pongs here without bound).
      this.pausedForWrites = true;
      this.updateReading();
    }
  }

  /**
   * The write callback of a flush that carries `pongs` pongs (pending until
   * the kernel took them) or the last frame of a message a sent() caller
   * waits for. Socket writes complete in order, so every data message the
   * core had queued by now (`messagesQueued`) is in this write or an earlier one.
   */
  private afterWrite(pongs: number): (error?: Error | null) => void {
    this.pongsPending += pongs;
    const queued = this.writeWaitersHead < this.writeWaiters.length ? this.core.messagesQueued : -1;
    return (error) => {
      if (pongs > 0) this.pongsPending = Math.max(0, this.pongsPending - pongs);
      // (node:net calls back without an error for a write cancelled because the socket was destroyed.)
      if (queued >= 0) this.messagesWritten(queued, error ?? (this.socket.destroyed ? this.closedError() : null));
    };
  }

  /** Bytes the kernel has taken so far (socket.writableLength counts what it has not). */
  private bytesTaken(): number {
    return this.bytesFlushed - this.socket.writableLength;
  }

  /** @internal The send-stall timer fired: has the peer taken anything since the last check? */
  checkSendStall(): void {
    this.stallTimer = undefined;
    if (this.socketClosed || this.transportEnding) return;
    const socket = this.socket;
    if (socket.writableLength <= this.options.sendHighWaterMark) return;
    const taken = this.bytesTaken();
    if (taken > this.takenAtCheck) {
      // Slow, but moving: check again after another interval.
      this.takenAtCheck = taken;
      this.stallTimer = setTimeout(stallCheck, this.options.sendStallTimeout, this);
      this.stallTimer.unref();
      return;
    }
    // Nothing taken for a whole interval: the peer does not read.
    this.dropNonReader(protocolError('WS_ERR_SEND_STALLED', 'send stalled: the peer does not read'));
  }

  /**
   * Close with 1008 a peer that does not read, and drop it at once: the close
   * frame goes to the socket, but waiting for an answer from a peer that
   * reads nothing would only keep its backlog (and its input) ours longer.
   */
  private dropNonReader(error: ProtocolError): void {
    this.core.fail(error);
    this.flush();
    this.terminate();
  }

  /** @internal The server stayed over its memory budget and this connection holds the most: close with 1013 (Try Again Later) and drop it. */
  shedForMemoryBudget(): void {
    if (this.socketClosed) return;
    this.core.fail(protocolError('WS_ERR_OVER_MEMORY_BUDGET', 'server over its memory budget'));
    this.flush();
    this.terminate();
  }

  /** What this connection holds in memory now: input being assembled or kept, output not yet taken by the kernel, messages queued for `for await`. */
  private heldBytes(): number {
    return this.core.bufferedInputBytes + this.core.pendingOutputBytes + this.socket.writableLength + (this.queueOrNull?.queuedBytes ?? 0);
  }

  /** Tell the server's memory budget what this connection holds now. */
  private reportHeld(bytes: number): void {
    const budget = this.hooks?.budget;
    if (budget === undefined || bytes === this.heldReported) return;
    const delta = bytes - this.heldReported;
    this.heldReported = bytes;
    budget.change(this as WebSocketConnection<unknown>, delta, bytes);
  }

  /** @internal Bytes this connection last reported to the memory budget. */
  get reportedHeldBytes(): number {
    return this.heldReported;
  }

  /** @internal The memory budget pauses (true) or resumes (false) reading from this connection. */
  setPausedForBudget(paused: boolean): void {
    if (this.pausedForBudget === paused) return;
    this.pausedForBudget = paused;
    this.updateReading();
  }

  /**
   * Close TCP from our side (§7.1.1: the server closes first): FIN after the
   * pending writes, then wait for the peer's FIN, at most closeTimeout.
   */
  private endTransport(): void {
    if (this.transportEnding || this.socketClosed) return;
    this.flush();
    this.transportEnding = true;
    clearInterval(this.pingTimer);
    this.socket.end();
    // Keep reading (and dropping) so unread input cannot turn our close into a reset.
    this.pausedForQueue = false;
    this.pausedForStream = false;
    this.pausedForWrites = false;
    this.pausedForTurn = false;
    this.pausedForBudget = false;
    this.updateReading();
    this.armCloseTimer();
  }

  private armCloseTimer(): void {
    clearTimeout(this.closeTimer);
    this.closeTimer = setTimeout(closeTimedOut, this.options.closeTimeout, this);
    this.closeTimer.unref();
  }

  // ------------------------------------------------------------- delivery

  private deliver(message: Message, size: number): void {
    const listening = this.listenerCount('message') > 0;
    if (listening) {
      // safeEmit() without its rest parameter: this runs once per message.
      try {
        this.emit('message', message);
      } catch (error) {
        this.handlerFailed(error);
      }
    }
    if (this.iterating || !listening || this.hasTakers()) this.queue.push(message, size);
  }

  private setPausedForQueue(paused: boolean): void {
    // (Once TCP is ending, reading goes on regardless: see endTransport().)
    if (this.pausedForQueue === paused || (paused && this.transportEnding)) return;
    this.pausedForQueue = paused;
    this.updateReading();
  }

  /** Before the peer's close frame, a failure or the end of input, messages may still come (also after our own close frame). */
  private moreMessagesMayArrive(): boolean {
    if (this.socketClosed) return false;
    const phase = this.core.closeState.phase;
    return phase === ClosePhase.ACTIVE || phase === ClosePhase.CLOSED_BY_US;
  }

  private endQueueIfFinished(): void {
    if ((this.queueOrNull?.length ?? 0) === 0 && !this.moreMessagesMayArrive()) this.endQueue();
  }

  /** No more messages will arrive: receive() rejects (a for-await loop ends) once the queue is drained. */
  private endQueue(): void {
    if (this.queueOrNull === null) this.queueEnded = true;
    else this.queueOrNull.end(() => this.closedError());
  }

  /**
   * The queue receive() and for-await take from, made on first use: most
   * connections (a 'message' listener, or idle) never need one.
   */
  private get queue(): MessageQueue<Message | MessageStream> {
    if (this.queueOrNull === null) {
      this.queueOrNull = new MessageQueue<Message | MessageStream>((paused) => this.setPausedForQueue(paused));
      if (this.queueEnded) this.queueOrNull.end(() => this.closedError());
    }
    return this.queueOrNull;
  }

  private hasTakers(): boolean {
    return this.queueOrNull !== null && this.queueOrNull.hasTakers;
  }

  private setPausedForStream(paused: boolean): void {
    if (this.pausedForStream === paused || (paused && this.transportEnding)) return;
    this.pausedForStream = paused;
    this.updateReading();
  }

  private updateReading(): void {
    if (this.socketClosed) return;
    if (this.pausedForWrites || this.pausedForQueue || this.pausedForStream || this.pausedForTurn || this.pausedForBudget) this.socket.pause();
    else this.socket.resume();
  }

  /** Emit without letting a handler's exception into the protocol core. */
  private safeEmit<K extends keyof ConnectionEvents>(event: K, ...args: ConnectionEvents[K]): void {
    try {
      (this.emit as (event: K, ...args: ConnectionEvents[K]) => boolean)(event, ...args);
    } catch (error) {
      this.handlerFailed(error);
    }
  }

  /**
   * @internal
   * A handler or event listener threw or rejected: the error is reported
   * (the server's 'error' event, or this connection's for a client) and the
   * connection fails with 1011. A ConnectionClosedError means the peer left:
   * not a bug.
   */
  handlerFailed(error: unknown): void {
    if (error instanceof ConnectionClosedError) return;
    this.report(error);
    this.failInternally(new InternalError(error));
  }

  /** Something threw past the core while handling input (a bug): fail the connection with 1011 and report it. */
  private internalFailure(thrown: unknown): void {
    const error = thrown instanceof InternalError ? thrown : new InternalError(thrown);
    this.report(error);
    this.failInternally(error);
  }

  private failInternally(error: InternalError): void {
    if (this.readyState === ReadyState.CLOSED) return;
    this.core.fail(error);
    if (!this.receiving) this.scheduleFlush(); // (a read's end flushes and closes)
  }

  /**
   * Report an error to the hooks (the server's 'error' event), else to this
   * connection's 'error' listeners, else to stderr. A reporter that throws
   * goes to stderr: nothing escapes into the socket's handlers.
   */
  private report(error: unknown): void {
    if (this.reporting) {
      console.error('websocket: an error listener threw while reporting an error:', error);
      return;
    }
    this.reporting = true;
    try {
      if (this.hooks !== null) this.hooks.reportError(error, this as WebSocketConnection<unknown>);
      else if (this.listenerCount('error') > 0) this.emit('error', error instanceof Error ? error : new Error(String(error)));
      else console.error('websocket: unhandled error:', error);
    } catch (thrown) {
      console.error('websocket: an error listener threw while reporting an error:', thrown, '(reporting:', error, ')');
    } finally {
      this.reporting = false;
    }
  }
}

/** A message as a whole: a MessageStream is read to its end and assembled. */
function whole(message: Message | MessageStream): Message | Promise<Message> {
  return message instanceof MessageStream ? message.collect() : message;
}

/** A sent() caller: the `message`th data message of the connection. */
interface WriteWaiter {
  message: number;
  resolve: () => void;
  reject: (error: Error) => void;
}

/** No sent() caller waits: shared and never written to (an array per idle connection is memory for nothing). */
const NO_WAITERS: WriteWaiter[] = [];

const SOURCE_DONE = Symbol('source done');
const CONNECTION_CLOSED = Symbol('connection closed');

/**
 * sendStream()'s source, read chunk by chunk: a sync iterable at once, an
 * async one raced against the connection's close (a source that waits
 * forever must not keep sendStream() waiting once the connection is gone).
 */
class StreamSourceReader {
  private readonly iterator: Iterator<unknown> | AsyncIterator<unknown>;
  private readonly async: boolean;
  private readonly closed: Promise<typeof CONNECTION_CLOSED>;
  private finished = false;

  constructor(
    private readonly source: SendStreamSource,
    closed: Promise<unknown>,
  ) {
    const asyncIterable = (source as Partial<AsyncIterable<unknown>>)[Symbol.asyncIterator];
    this.async = typeof asyncIterable === 'function';
    this.iterator = this.async ? (source as AsyncIterable<unknown>)[Symbol.asyncIterator]() : (source as Iterable<unknown>)[Symbol.iterator]();
    this.closed = closed.then(() => CONNECTION_CLOSED);
  }

  async next(): Promise<unknown> {
    let step: unknown;
    if (this.async) {
      const pending = (this.iterator as AsyncIterator<unknown>).next();
      pending.catch(() => {}); // (if the close wins the race, a later failure of the source is nobody's to handle)
      step = await Promise.race([pending, this.closed]);
    } else {
      step = (this.iterator as Iterator<unknown>).next();
    }
    if (step === CONNECTION_CLOSED) return CONNECTION_CLOSED;
    const result = step as IteratorResult<unknown>;
    if (result.done === true) {
      this.finished = true;
      return SOURCE_DONE;
    }
    return result.value;
  }

  /** Tell the source we stop early (a Readable is destroyed); what its return() says or throws is ignored. */
  close(): void {
    if (this.finished) return;
    this.finished = true;
    // An async iterator's return() waits behind a pending next(): a stream is destroyed directly.
    const stream = this.source as { destroy?: unknown };
    if (typeof stream.destroy === 'function') {
      (stream.destroy as () => void).call(stream);
      return;
    }
    try {
      const returned = this.iterator.return?.();
      if (returned instanceof Promise) returned.catch(() => {});
    } catch {
      // the source's own failure, already on its way to the caller
    }
  }
}

/** A chunk of sendStream()'s source as a string or bytes. */
function streamChunk(chunk: unknown): string | Uint8Array {
  if (typeof chunk === 'string') return chunk;
  if (chunk instanceof Uint8Array) return chunk;
  if (chunk instanceof ArrayBuffer || ArrayBuffer.isView(chunk)) return toBytes(chunk);
  throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'sendStream(): a chunk must be a string, a Buffer, a typed array or an ArrayBuffer');
}

function invalidUtf8ToSend(): LocalError {
  return new LocalError('WS_ERR_SEND_INVALID_UTF8', 'sendStream(): the text message is not valid UTF-8 (RFC 6455 §8.1); the invalid bytes were not sent');
}

function toBytes(data: Exclude<SendData, string>): Uint8Array {
  if (data instanceof Uint8Array) return data;
  if (data instanceof ArrayBuffer) return new Uint8Array(data);
  if (ArrayBuffer.isView(data)) return new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  throw new LocalError('WS_ERR_INVALID_ARGUMENT', 'send() takes a string, a Buffer, a typed array or an ArrayBuffer');
}

/** What a server (or client) shares with all its connections. */
export interface ConnectionHooks {
  /** A handler threw or rejected. */
  reportError(error: unknown, connection: WebSocketConnection<unknown>): void;
  /** The connection's TCP closed. */
  closed(connection: WebSocketConnection<unknown>): void;
  /** The server's memory budget: told what each connection holds (`delta` since its last report, `held` now). */
  budget?: { change(connection: WebSocketConnection<unknown>, delta: number, held: number): void };
  /** The server's topics: where subscribe()/unsubscribe() go, and how many one connection may join. */
  topics?: { registry: TopicRegistry<WebSocketConnection<unknown>>; maxPerConnection: number };
}

const kConnection = Symbol('wsrfc.connection');
type OwnedSocket = WebSocketTransport & { [kConnection]: WebSocketConnection<unknown> };

// Socket listeners and timer callbacks, shared by every connection.
function socketData(this: OwnedSocket, chunk: Buffer): void {
  this[kConnection].receiveBytes(chunk);
}
function socketEnd(this: OwnedSocket): void {
  this[kConnection].peerEnded();
}
function socketClose(this: OwnedSocket): void {
  this[kConnection].socketClosedEvent();
}
function socketError(): void {
  // ECONNRESET, EPIPE...: the peer vanished. 'close' follows and reports 1006.
}
function socketDrain(this: OwnedSocket): void {
  this[kConnection].drained();
}
function socketIdle(this: OwnedSocket): void {
  this[kConnection].idle();
}
function pingTimerFired(connection: WebSocketConnection<unknown>): void {
  connection.keepaliveTick();
}
function flushScheduled(connection: WebSocketConnection<unknown>): void {
  connection.scheduledFlush();
}
function stallCheck(connection: WebSocketConnection<unknown>): void {
  connection.checkSendStall();
}
function closeTimedOut(connection: WebSocketConnection<unknown>): void {
  connection.terminate();
}
