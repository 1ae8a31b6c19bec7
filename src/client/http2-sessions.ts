/**
 * The client's HTTP/2 sessions: one per origin, shared by every WebSocket
 * opened to it with `http2: true` or `'auto'` (RFC 8441 carries each
 * WebSocket on a stream of its own, so a hundred of them cost one TCP and
 * TLS handshake, not a hundred).
 *
 * - An origin is the scheme, host and port, plus the TLS settings that
 *   change what the connection is (`ca`, client certificate, `servername`,
 *   `rejectUnauthorized`...): two connects with different trust never share.
 * - Opening is shared too: connects that arrive while a session is being
 *   set up wait for that one (no herd of sessions to one server).
 * - A session is usable once the server's SETTINGS have arrived and enable
 *   extended CONNECT (RFC 8441 §3). A server that picks `http/1.1` by ALPN,
 *   or speaks HTTP/2 without extended CONNECT, gives `not-h2`: connect()
 *   falls back to HTTP/1.1 (`'auto'`) or fails (`true`).
 * - Reference-counted by its WebSockets (and the handshakes under way). When
 *   the last one closes, the session lingers SESSION_LINGER_MS, unref'd (it
 *   keeps no process alive), for a connect that follows right after (a
 *   reconnect, a page of sockets opened one by one); then it is closed
 *   (session.close(): GOAWAY, then TCP).
 * - An origin whose server speaks HTTP/2 without extended CONNECT is
 *   remembered for NO_EXTENDED_CONNECT_MEMORY_MS: `'auto'` skips HTTP/2
 *   there meanwhile (`true` still asks, and fails).
 * - A session that receives GOAWAY or fails leaves the pool at once: new
 *   connects open a new one. On GOAWAY its WebSockets close with 1001
 *   (going away) through their closing handshake, which the streams the
 *   server already accepted may still carry (RFC 9113 §6.8); on an error
 *   node:http2 destroys the streams, and their WebSockets end with 1006.
 */
import { createHash } from 'node:crypto';
import type { ClientHttp2Session } from 'node:http2';
import { http2Module } from '../connection/http2-module.js';
import { connect as netConnect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions as TlsConnectionOptions, type TLSSocket } from 'node:tls';
import { CloseCode } from '../framing/close-codes.js';
import { ClientHandshakeError } from '../handshake/client-handshake-error.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import type { ClientTlsOptions } from './options.js';

/** ms an HTTP/2 session without WebSockets stays open (unref'd) for the next connect to its origin. */
export const SESSION_LINGER_MS = 1000;

/**
 * ms during which `'auto'` remembers that an origin speaks HTTP/2 without
 * extended CONNECT, and goes straight to HTTP/1.1 there instead of paying
 * for a TLS and HTTP/2 handshake that cannot carry a WebSocket.
 */
export const NO_EXTENDED_CONNECT_MEMORY_MS = 60_000;

/** Where to: the parts of the URL that make an origin, and the TLS settings for wss. */
export interface Http2Origin {
  secure: boolean;
  host: string;
  port: number;
  tls: ClientTlsOptions | undefined;
}

/** What a WebSocket on a session needs from it: to be told the session is going away. */
export interface SessionMember {
  close(code: number, reason: string): void;
}

/** A session in the pool, with the WebSockets on it. */
export class PooledSession {
  readonly session: ClientHttp2Session;
  /** The connection is over TLS (wss). */
  readonly secure: boolean;
  #refs = 0;
  #linger: NodeJS.Timeout | undefined;
  #retired = false;
  readonly #members = new Set<SessionMember>();
  readonly #pool: Http2SessionPool;
  readonly #key: string;

  constructor(pool: Http2SessionPool, key: string, session: ClientHttp2Session, secure: boolean) {
    this.#pool = pool;
    this.#key = key;
    this.session = session;
    this.secure = secure;
    session.on('goaway', () => this.#retire('goaway'));
    session.on('close', () => this.#retire('close'));
    // An 'error' is followed by 'close'; the streams are destroyed by node:http2.
    session.on('error', () => this.#retire('error'));
  }

  /** Still open, not going away: new WebSockets may use it. */
  get usable(): boolean {
    return !this.#retired && !this.session.closed && !this.session.destroyed;
  }

  /** WebSockets and handshakes holding the session open. */
  get references(): number {
    return this.#refs;
  }

  /** Hold the session open (a handshake starting); returns the (idempotent) release. */
  acquire(): () => void {
    this.#refs++;
    if (this.#linger !== undefined) {
      clearTimeout(this.#linger);
      this.#linger = undefined;
      this.session.ref();
    }
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#refs--;
      if (this.#refs === 0) this.#idle();
    };
  }

  /** A WebSocket now open on the session, to close with 1001 if the server sends GOAWAY; returns its removal. */
  track(member: SessionMember): () => void {
    this.#members.add(member);
    return () => this.#members.delete(member);
  }

  #idle(): void {
    if (this.#retired) {
      if (!this.session.closed) this.session.close();
      return;
    }
    this.session.unref();
    this.#linger = setTimeout(() => {
      this.#linger = undefined;
      if (this.#refs > 0) return;
      this.#retire('idle');
      this.session.close();
    }, SESSION_LINGER_MS);
    this.#linger.unref();
  }

  #retire(why: 'goaway' | 'close' | 'error' | 'idle'): void {
    if (this.#retired) return;
    this.#retired = true;
    clearTimeout(this.#linger);
    this.#pool.forget(this.#key, this);
    if (why === 'goaway') {
      // RFC 9113 §6.8: GOAWAY stops new streams; the ones already accepted
      // may finish. Ours finish with a closing handshake, as going away.
      for (const member of [...this.#members]) member.close(CloseCode.GOING_AWAY, 'the server sent GOAWAY');
    }
    if (this.#refs === 0 && !this.session.closed) this.session.close();
  }
}

/** What opening an origin gave: a session with extended CONNECT, or why not (and, if ALPN chose HTTP/1.1, the TLS socket to go on with). */
export type OpenedOrigin =
  | { kind: 'h2'; pooled: PooledSession }
  | {
      kind: 'not-h2';
      /** HS_ERR_H2_NOT_NEGOTIATED or HS_ERR_H2_NO_EXTENDED_CONNECT: what `http2: true` fails with. */
      error: ClientHandshakeError;
      /** The TLS socket on which ALPN selected http/1.1, for the first taker only (it is destroyed if nobody takes it). */
      take(): TLSSocket | undefined;
    };

/** The pool (see above). One per process: `sessionPool`. */
export class Http2SessionPool {
  readonly #sessions = new Map<string, PooledSession>();
  readonly #opening = new Map<string, Promise<OpenedOrigin>>();
  /** Origins that speak HTTP/2 without extended CONNECT, until when (Date.now() ms). */
  readonly #withoutExtendedConnect = new Map<string, number>();

  /**
   * A usable session to `origin`, its opening shared with concurrent
   * callers. Rejects with the socket's error (ECONNREFUSED, a certificate
   * error...) or ClientHandshakeError CONNECT_TIMEOUT after `timeout` ms
   * (the first caller's connectTimeout: the others have their own deadline).
   * `mode` 'auto': an origin known to lack extended CONNECT gives `not-h2`
   * at once, without I/O.
   */
  open(origin: Http2Origin, timeout: number, mode: true | 'auto' = true): Promise<OpenedOrigin> {
    const key = originKey(origin);
    const live = this.#sessions.get(key);
    if (live !== undefined && live.usable) return Promise.resolve({ kind: 'h2', pooled: live });
    const until = this.#withoutExtendedConnect.get(key);
    if (until !== undefined && mode === 'auto') {
      if (Date.now() < until) return Promise.resolve({ kind: 'not-h2', error: noExtendedConnect(origin), take: () => undefined });
      this.#withoutExtendedConnect.delete(key);
    }
    let opening = this.#opening.get(key);
    if (opening === undefined) {
      opening = openOrigin(origin, timeout).then((opened) => {
        if (opened.kind === 'h2') {
          const pooled = new PooledSession(this, key, opened.session, origin.secure);
          // A session nobody takes (every caller gave up) still closes after its linger.
          const hold = pooled.acquire();
          setImmediate(hold);
          if (pooled.usable) this.#sessions.set(key, pooled);
          this.#withoutExtendedConnect.delete(key);
          return { kind: 'h2', pooled } as const;
        }
        if (opened.error.code === Code.H2_NO_EXTENDED_CONNECT) this.#withoutExtendedConnect.set(key, Date.now() + NO_EXTENDED_CONNECT_MEMORY_MS);
        return opened;
      });
      const settled = (): void => {
        this.#opening.delete(key);
      };
      opening.then(settled, settled);
      this.#opening.set(key, opening);
    }
    return opening;
  }

  /** The session of an origin, if one is pooled (tests, diagnostics). */
  sessionFor(origin: Http2Origin): PooledSession | undefined {
    return this.#sessions.get(originKey(origin));
  }

  /** @internal A session left: drop it (unless a newer one took its place). */
  forget(key: string, pooled: PooledSession): void {
    if (this.#sessions.get(key) === pooled) this.#sessions.delete(key);
  }
}

/** The process's pool, used by connect(). */
export const sessionPool = new Http2SessionPool();

type RawOpened = { kind: 'h2'; session: ClientHttp2Session } | Extract<OpenedOrigin, { kind: 'not-h2' }>;

/**
 * Open TCP (and TLS, offering `h2` and `http/1.1` by ALPN), then HTTP/2 on
 * it, and wait for the server's SETTINGS (RFC 9113 §3.4: the server's
 * connection preface is a SETTINGS frame; RFC 8441 §3: "Upon receipt of
 * SETTINGS_ENABLE_CONNECT_PROTOCOL with a value of 1, a client MAY use the
 * Extended CONNECT").
 */
function openOrigin(origin: Http2Origin, timeout: number): Promise<RawOpened> {
  return new Promise((resolve, reject) => {
    const { secure, host, port } = origin;
    const where = originName(origin);
    let session: ClientHttp2Session | undefined;
    let done = false;
    const finish = (error: unknown, opened?: RawOpened): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.off('error', finish);
      if (error !== undefined) {
        socket.on('error', () => {});
        session?.on('error', () => {});
        session?.destroy();
        socket.destroy();
        reject(error);
      } else resolve(opened!);
    };
    const timer = setTimeout(
      () => finish(new ClientHandshakeError(Code.CONNECT_TIMEOUT, 'RFC 8441 §3', `no HTTP/2 connection with SETTINGS from ${where} within ${timeout} ms`)),
      timeout,
    );
    const socket: Socket | TLSSocket = secure
      ? tlsConnect({
          // SNI as for HTTP/1.1 (connect.ts): never an IP literal (RFC 6066 §3).
          ...(isIP(host) === 0 ? { servername: host } : {}),
          ...origin.tls,
          // RFC 9113 §3.2: "h2" by ALPN; http/1.1 too, so that 'auto' can go on over this very connection.
          ALPNProtocols: ['h2', 'http/1.1'],
          host,
          port,
          allowHalfOpen: true,
        } as TlsConnectionOptions)
      : netConnect({ host, port });
    socket.on('error', finish);
    socket.once(secure ? 'secureConnect' : 'connect', () => {
      // Connected: from now on a failure is told apart below (ALPN, no SETTINGS), not passed on raw.
      socket.off('error', finish);
      socket.setNoDelay(true);
      if (secure && (socket as TLSSocket).alpnProtocol !== 'h2') {
        const chosen = (socket as TLSSocket).alpnProtocol;
        let taken = false;
        const tls = socket as TLSSocket;
        // Until a taker listens: an error on the socket is nobody's to report.
        const ignore = (): void => {};
        tls.on('error', ignore);
        // Nobody took it by the next turn (every caller wants HTTP/2 only): close it.
        setImmediate(() => {
          if (!taken) tls.destroy();
        });
        finish(undefined, {
          kind: 'not-h2',
          error: new ClientHandshakeError(
            Code.H2_NOT_NEGOTIATED,
            'RFC 9113 §3.2',
            `${where} did not select h2 by ALPN (it chose ${chosen === false || chosen === null ? 'none' : JSON.stringify(chosen)}): it does not speak HTTP/2 there`,
          ),
          take: () => {
            if (taken || tls.destroyed) return undefined;
            taken = true;
            tls.off('error', ignore);
            return tls;
          },
        });
        return;
      }
      const opened = http2Module().connect(`${secure ? 'https' : 'http'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`, {
        createConnection: () => socket,
        // A WebSocket client takes no pushed responses (RFC 9113 §6.5.2).
        settings: { enablePush: false },
      });
      session = opened;
      // The connection is up: what fails before the server's SETTINGS is the
      // server not speaking HTTP/2 (h2c: an HTTP/1.1 server answers our
      // preface with a 400, which nghttp2 reads as a protocol error).
      const noSettings = (error?: Error): void =>
        finish(
          new ClientHandshakeError(
            secure ? Code.NO_RESPONSE : Code.H2_NOT_NEGOTIATED,
            'RFC 9113 §3.4',
            (secure
              ? `${where} closed its HTTP/2 connection before its SETTINGS`
              : `${where} closed the connection without HTTP/2 SETTINGS: does it speak HTTP/2 without TLS (h2c, prior knowledge) on this port?`) +
              (error === undefined ? '' : ` (${error.message})`),
          ),
        );
      opened.on('error', noSettings);
      opened.once('close', () => noSettings());
      socket.on('error', noSettings);
      // Not 'connect': node:http2 emits it before the server's SETTINGS, with the defaults in remoteSettings.
      opened.once('remoteSettings', (settings) => {
        opened.off('error', noSettings);
        socket.off('error', noSettings);
        if (settings.enableConnectProtocol === true) {
          finish(undefined, { kind: 'h2', session: opened });
          return;
        }
        if (!done) {
          done = true;
          clearTimeout(timer);
          socket.off('error', finish);
          opened.on('error', () => {});
          opened.close();
          resolve({ kind: 'not-h2', error: noExtendedConnect(origin), take: () => undefined });
        }
      });
    });
  });
}

/** The error of an HTTP/2 server whose SETTINGS do not enable extended CONNECT. */
function noExtendedConnect(origin: Http2Origin): ClientHandshakeError {
  return new ClientHandshakeError(
    Code.H2_NO_EXTENDED_CONNECT,
    'RFC 8441 §3',
    `${originName(origin)} speaks HTTP/2 but does not enable extended CONNECT (SETTINGS_ENABLE_CONNECT_PROTOCOL), so it takes no WebSocket over HTTP/2 (RFC 8441 §3)`,
  );
}

function originName({ secure, host, port }: Http2Origin): string {
  return `${secure ? 'wss' : 'ws'}://${isIP(host) === 6 ? `[${host}]` : host}:${port}`;
}

/**
 * The pool's key for an origin: scheme, host, port, and for wss the TLS
 * settings (as a digest: a CA bundle can be long). Buffers count by content;
 * functions and objects such as a SecureContext by identity.
 */
export function originKey(origin: Http2Origin): string {
  const base = `${origin.secure ? 'wss' : 'ws'}://${origin.host}:${origin.port}`;
  if (!origin.secure || origin.tls === undefined) return base;
  const text = JSON.stringify(sortedEntries(origin.tls));
  return `${base} ${createHash('sha256').update(text).digest('base64')}`;
}

const identities = new WeakMap<object, number>();
let nextIdentity = 1;

function identityOf(value: object): string {
  let id = identities.get(value);
  if (id === undefined) {
    id = nextIdentity++;
    identities.set(value, id);
  }
  return `#${id}`;
}

/** A JSON-able picture of a TLS option value (see originKey). */
function sortedEntries(value: unknown): unknown {
  if (value === undefined || value === null || typeof value !== 'object') return typeof value === 'function' ? identityOf(value) : value;
  if (ArrayBuffer.isView(value)) return `bytes:${createHash('sha256').update(value as Uint8Array).digest('base64')}`;
  if (Array.isArray(value)) return value.map(sortedEntries);
  if (Object.getPrototypeOf(value) !== Object.prototype) return identityOf(value);
  return Object.keys(value)
    .sort()
    .map((name) => [name, sortedEntries((value as Record<string, unknown>)[name])]);
}
