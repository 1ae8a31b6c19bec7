/**
 * Every option of createServer() and connect() and the rule it must obey,
 * and the two resolvers that check them and fill in the defaults. The type
 * of each table (OptionRules) lists every option of its interface: an option
 * added without a rule does not compile. Both roles share
 * the rules of what they have in common (message limits, timers, the frame
 * log, permessage-deflate, HTTP head limits), so the same mistake gets the
 * same answer on either side: a LocalError WS_ERR_INVALID_OPTION naming the
 * option and what it accepts, thrown before any I/O (createServer() throws,
 * connect() rejects before it opens a socket).
 *
 * The defaults themselves are documented next to each option, in
 * src/server/options.ts, src/client/options.ts, src/protocol/limits.ts and
 * src/handshake/http-head-parser.ts. The permessage-deflate options have
 * their rules next to them, in src/extensions/permessage-deflate-negotiation.ts
 * (which checks them itself when negotiation is driven without a server or
 * a client around it).
 */
import type { ClientOptions } from '../client/options.js';
import type { ConnectionOptions } from '../connection/websocket-connection.js';
import { DEFAULT_CLIENT_OPTIONS } from '../client/options.js';
import { DEFAULT_RECONNECT_OPTIONS, type ReconnectOptions } from '../client/reconnect-policy.js';
import type { ReconnectingOptions } from '../client/reconnecting.js';
import { DEFAULT_DEFLATE_OPTIONS, DEFLATE_OPTION_RULES, type DeflateSettings } from '../extensions/permessage-deflate-negotiation.js';
import { DEFAULT_HTTP_HEAD_LIMITS, type HttpHeadLimits } from '../handshake/http-head-parser.js';
import type { ServerOptions } from '../server/options.js';
import type { ClusterBackplaneOptions } from '../cluster/cluster-backplane.js';
import type { RunWorkersOptions } from '../cluster/workers.js';
import { DEFAULT_HTTP2_OPTIONS, DEFAULT_SERVER_OPTIONS, type Http2Settings } from '../server/options.js';
import {
  boolean,
  choice,
  hook,
  httpServer,
  integer,
  limit,
  milliseconds,
  number,
  object,
  methods,
  resolveOptions,
  section,
  string,
  strings,
  type OptionRule,
  type OptionRules,
} from './option-rules.js';

/** The HTTP head parser's limits (the request on a server, the response on a client). */
export const HTTP_LIMIT_RULES: OptionRules<HttpHeadLimits> = {
  maxHeadBytes: integer(1, Number.MAX_SAFE_INTEGER, 'bytes'),
  maxHeaderCount: integer(1, Number.MAX_SAFE_INTEGER, 'header lines'),
  maxLineBytes: integer(1, Number.MAX_SAFE_INTEGER, 'bytes'),
};

/** The `http2` option of a server (src/server/http2-door.ts). */
export const HTTP2_OPTION_RULES: OptionRules<Http2Settings> = {
  idleSessionTimeout: milliseconds(0),
  // RFC 9113 §6.5.2: SETTINGS_MAX_CONCURRENT_STREAMS is a 32-bit value; 0 would refuse every stream.
  maxConcurrentStreams: integer(1, 2 ** 32 - 1, 'streams'),
  // RFC 9113 §6.9.1: "The sender MUST NOT send a flow-controlled frame with a length that exceeds
  // the space available"; a window is at least HTTP/2's initial 65,535 here, at most 2^31-1 (§6.9.2).
  streamWindowSize: integer(65_535, 2 ** 31 - 1, 'bytes'),
  sessionWindowSize: integer(65_535, 2 ** 31 - 1, 'bytes'),
};

/** What both roles have in common: a connection's limits and timers, and the extensions and HTTP head around it. */
const CONNECTION_RULES = {
  maxMessageSize: limit(1),
  maxFrameSize: limit(1),
  maxFragments: limit(1, 'frames'),
  streamMessagesAbove: limit(0),
  closeTimeout: milliseconds(1),
  idleTimeout: milliseconds(0),
  pingInterval: milliseconds(0),
  sendHighWaterMark: integer(0, Number.MAX_SAFE_INTEGER, 'bytes'),
  sendStallTimeout: milliseconds(0),
  maxPendingPongs: integer(1, Number.MAX_SAFE_INTEGER, 'pongs'),
  turnBudget: integer(1, Number.MAX_SAFE_INTEGER, 'work units'),
  logger: { kind: 'function', orNull: true },
  perMessageDeflate: section(DEFLATE_OPTION_RULES, DEFAULT_DEFLATE_OPTIONS, true),
  httpLimits: section(HTTP_LIMIT_RULES, DEFAULT_HTTP_HEAD_LIMITS, false),
  tls: object,
} as const satisfies Record<string, OptionRule>;

export const SERVER_OPTION_RULES: OptionRules<ServerOptions<unknown>> = {
  ...CONNECTION_RULES,
  port: integer(0, 65_535),
  host: string,
  // Request paths start with '/' (RFC 9112 §3.2.1 origin-form), as route() requires.
  path: { kind: 'string', prefix: '/' },
  // A node:http server, or a request listener to build one around.
  http: httpServer,
  // true: the defaults; false (default): HTTP/1.1 only.
  http2: section(HTTP2_OPTION_RULES, DEFAULT_HTTP2_OPTIONS, true),
  broadcastLimit: limit(0),
  slowReceiver: choice('close', 'skip'),
  maxTopicsPerConnection: limit(1, 'topics'),
  topicRegistry: hook,
  backplane: methods('start', 'subscribe', 'unsubscribe', 'publish', 'close'),
  handshakeTimeout: milliseconds(1),
  memoryBudget: limit(1),
  checkOrigin: hook,
  selectProtocol: hook,
  authorize: hook,
};

export const CLIENT_OPTION_RULES: OptionRules<ClientOptions> = {
  ...CONNECTION_RULES,
  // Their syntax (tokens, header values) is checked where the request is built (src/client/upgrade-request-builder.ts).
  protocols: strings,
  origin: string,
  extensions: string,
  headers: object,
  connectTimeout: milliseconds(1),
  maskKeySource: hook,
  // RFC 8441 over HTTP/2: only, if the server offers it, or never.
  http2: choice('auto', true, false),
};

/** The backoff of reconnecting() (src/client/reconnect-policy.ts). */
export const RECONNECT_OPTION_RULES: OptionRules<ReconnectOptions> = {
  initialDelay: milliseconds(1),
  factor: number(1, 100),
  maxDelay: milliseconds(1),
  maxAttempts: limit(1, 'attempts'),
  jitter: number(0, 1),
  resetAfter: milliseconds(0),
};

/** reconnecting(): connect()'s options, the backoff, and an AbortSignal to stop it. */
export const RECONNECTING_OPTION_RULES: OptionRules<ReconnectingOptions> = {
  ...CLIENT_OPTION_RULES,
  reconnect: section(RECONNECT_OPTION_RULES, DEFAULT_RECONNECT_OPTIONS, false),
  signal: object,
};

/** clusterBackplane(): the worker side of the cluster backplane (src/cluster/cluster-backplane.ts). */
export const CLUSTER_BACKPLANE_OPTION_RULES: OptionRules<ClusterBackplaneOptions> = {
  maxPending: integer(1, Number.MAX_SAFE_INTEGER, 'publishes'),
};
export const DEFAULT_CLUSTER_BACKPLANE_OPTIONS: Required<ClusterBackplaneOptions> = { maxPending: 1024 };

/** runWorkers() (src/cluster/workers.ts); `setup` is required, and checked there. */
export const RUN_WORKERS_OPTION_RULES: OptionRules<RunWorkersOptions> = {
  workers: integer(1, 4096, 'workers'),
  setup: hook,
  shutdownTimeout: milliseconds(0),
  restartDelay: milliseconds(0),
  maxRestartDelay: milliseconds(0),
  handleSignals: boolean,
  backplane: section(CLUSTER_BACKPLANE_OPTION_RULES, DEFAULT_CLUSTER_BACKPLANE_OPTIONS, false),
};

/** Options of either role once resolved: every limit and timer a number, the sections complete. */
interface ResolvedSections {
  /** Never larger than maxMessageSize; by default equal to it. */
  maxFrameSize: number;
  /** false: permessage-deflate is not offered (client) or accepted (server). */
  perMessageDeflate: DeflateSettings | false;
  httpLimits: HttpHeadLimits;
}

/** The server's resolved sections besides the shared ones: `http2` false (off) or complete. */
interface ResolvedServerSections {
  http2: Http2Settings | false;
}

export type ResolvedServerOptions<Data = undefined> = Omit<ServerOptions<Data>, keyof ResolvedSections | keyof ResolvedServerSections | keyof typeof DEFAULT_SERVER_OPTIONS> &
  Omit<typeof DEFAULT_SERVER_OPTIONS, keyof ResolvedSections> &
  ResolvedSections &
  ResolvedServerSections;

export type ResolvedClientOptions = Omit<ClientOptions, keyof ResolvedSections | keyof typeof DEFAULT_CLIENT_OPTIONS> &
  Omit<typeof DEFAULT_CLIENT_OPTIONS, keyof ResolvedSections> &
  ResolvedSections;

/** The options of createServer(), checked, with every default filled in. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveServerOptions<Data>(options: ServerOptions<Data> = {}): ResolvedServerOptions<Data> {
  const resolved = resolveOptions(SERVER_OPTION_RULES, { ...DEFAULT_SERVER_OPTIONS, maxFrameSize: undefined }, options as ServerOptions<unknown>);
  return { ...resolved, maxFrameSize: frameLimit(resolved) } as ResolvedServerOptions<Data>;
}

/** The options of connect(), checked, with every default filled in. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveClientOptions(options: ClientOptions = {}): ResolvedClientOptions {
  const resolved = resolveOptions(CLIENT_OPTION_RULES, { ...DEFAULT_CLIENT_OPTIONS, maxFrameSize: undefined }, options);
  return { ...resolved, maxFrameSize: frameLimit(resolved) } as ResolvedClientOptions;
}

/**
 * What each connection takes from its role's resolved options: the limits,
 * timers and budgets both roles share (CONNECTION_RULES), in one place so
 * that the server and the client cannot drift apart.
 */
export function connectionOptionsOf(role: 'server' | 'client', settings: ResolvedServerOptions<unknown> | ResolvedClientOptions): ConnectionOptions {
  return {
    role,
    maxMessageSize: settings.maxMessageSize,
    maxFrameSize: settings.maxFrameSize,
    maxFragments: settings.maxFragments,
    streamMessagesAbove: settings.streamMessagesAbove,
    closeTimeout: settings.closeTimeout,
    idleTimeout: settings.idleTimeout,
    pingInterval: settings.pingInterval,
    sendHighWaterMark: settings.sendHighWaterMark,
    sendStallTimeout: settings.sendStallTimeout,
    maxPendingPongs: settings.maxPendingPongs,
    turnBudget: settings.turnBudget,
    logger: settings.logger,
  };
}

/** The options of reconnecting(), checked: the backoff complete, connect()'s options as resolveClientOptions() leaves them. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveReconnectingOptions(
  options: ReconnectingOptions = {},
): ResolvedClientOptions & { reconnect: Required<ReconnectOptions>; signal: AbortSignal | undefined } {
  const resolved = resolveOptions(RECONNECTING_OPTION_RULES, { ...DEFAULT_CLIENT_OPTIONS, maxFrameSize: undefined, signal: undefined }, options);
  return { ...resolved, maxFrameSize: frameLimit(resolved) } as ResolvedClientOptions & { reconnect: Required<ReconnectOptions>; signal: AbortSignal | undefined };
}

/** The options of clusterBackplane(), checked (an unknown name is refused), the default filled in. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveClusterBackplaneOptions(options: ClusterBackplaneOptions = {}): Required<ClusterBackplaneOptions> {
  return resolveOptions(CLUSTER_BACKPLANE_OPTION_RULES, DEFAULT_CLUSTER_BACKPLANE_OPTIONS, options, '', true);
}

/** The options of runWorkers(), checked (an unknown name is refused); the defaults stay runWorkers()' own. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveRunWorkersOptions(options: RunWorkersOptions): RunWorkersOptions & { backplane: Required<ClusterBackplaneOptions> } {
  return resolveOptions(RUN_WORKERS_OPTION_RULES, {}, options, '', true) as RunWorkersOptions & { backplane: Required<ClusterBackplaneOptions> };
}

/** A frame cannot be larger than the message it belongs to; by default it may be as large. */
function frameLimit(options: { maxMessageSize: number; maxFrameSize?: number }): number {
  return Math.min(options.maxFrameSize ?? options.maxMessageSize, options.maxMessageSize);
}
