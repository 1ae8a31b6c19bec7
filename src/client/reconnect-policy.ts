/**
 * When a reconnecting client (src/client/reconnecting.ts) tries again, and
 * after how long: pure functions of what happened, no sockets, no timers.
 *
 * The policy, in full:
 *
 * A connection attempt that fails is retried when the failure is one that
 * time can cure:
 *   - a network error from the socket (any system error: ECONNREFUSED,
 *     ECONNRESET, ETIMEDOUT, EHOSTUNREACH, ENOTFOUND, EAI_AGAIN...): the
 *     server is down, restarting, or not yet in DNS;
 *   - no answer within `connectTimeout` (HS_ERR_CONNECT_TIMEOUT), or TCP
 *     closed before the response head was complete (HS_ERR_NO_RESPONSE);
 *   - a 5xx answer (500, 502 from a proxy whose upstream is down, 503, 504),
 *     and 429 Too Many Requests: both may carry Retry-After (RFC 9110
 *     §10.2.3, RFC 6585 §4), which is honoured: the next attempt waits at
 *     least that long, even past `maxDelay`.
 * Anything else stops the client: a handshake refusal (any other 4xx: 401,
 * 403, 404...), a redirect (3xx, not followed: §4.1), a server that broke a
 * rule of the handshake (a wrong Sec-WebSocket-Accept, an extension not
 * offered...), a TLS certificate error, an invalid URL or option. Trying
 * again would get the same answer.
 *
 * An established connection that ends is followed by a new one when the
 * code that ended it (the peer's close frame's; if none arrived, the one we
 * sent; if neither, 1006) is one of:
 *   - 1006 abnormal closure: TCP dropped without a closing handshake (the
 *     server process died, a network fault, `terminate()`);
 *   - 1001 going away: the server is shutting down (or our `idleTimeout`);
 *   - 1011 internal error: the server failed (or our keepalive got no pong);
 *   - 1012 service restart, 1013 try again later, 1014 bad gateway: the
 *     server or a proxy asks to come back later.
 * Every other code stops the client: 1000 (the server, or the application
 * through `close()`, ended it on purpose), 1005 (a close frame without a
 * code: treated as 1000), 1008 policy violation, 1002, 1003, 1007, 1009,
 * 1010 (this client broke a rule: it would break it again), and the
 * application codes 3000–4999 (their meaning is the application's; it
 * reconnects itself if it wants to).
 *
 * Backoff: the n-th attempt in a row that fails waits a delay drawn at
 * random between (1 − jitter) × d and d, where d = min(maxDelay,
 * initialDelay × factor^(n−1)): exponential, capped, and spread so that the
 * clients of a server that went away do not all come back in the same
 * millisecond. A connection that stayed open for `resetAfter` ms starts the
 * count again: the first reconnect after it waits about `initialDelay`. A
 * connection that closed sooner counts as a failed attempt (a server that
 * accepts and drops at once is not hammered). After `maxAttempts` attempts
 * in a row without such a connection, the client gives up.
 */
import { ClientHandshakeError } from '../handshake/client-handshake-error.js';
import { HandshakeErrorCode } from '../handshake/error-codes.js';
import { CloseCode } from '../framing/close-codes.js';
import type { CloseInfo } from '../protocol/close-state.js';

/** How a reconnecting client spaces its attempts, and when it gives up. */
export interface ReconnectOptions {
  /** ms before the first retry (and the first reconnect after a connection that lasted). Default 1 000. */
  initialDelay?: number;
  /** Each further failure in a row multiplies the delay by this, 1–100. Default 2. */
  factor?: number;
  /** ms the delay never exceeds (a server's Retry-After may). Default 30 000. */
  maxDelay?: number;
  /** Attempts in a row (without a connection that lasted `resetAfter`) before giving up. Default Infinity. */
  maxAttempts?: number;
  /** Fraction of the delay drawn at random, 0–1: the delay is between (1 − jitter) × d and d. Default 0.5. */
  jitter?: number;
  /** ms a connection must stay open for the backoff to start over. Default 5 000. */
  resetAfter?: number;
}

export const DEFAULT_RECONNECT_OPTIONS = Object.freeze({
  initialDelay: 1_000,
  factor: 2,
  maxDelay: 30_000,
  maxAttempts: Infinity,
  jitter: 0.5,
  resetAfter: 5_000,
}) satisfies Required<ReconnectOptions>;

/** Close codes after which a new connection is made (see the policy above). */
export const RECONNECT_CLOSE_CODES: ReadonlySet<number> = new Set([
  CloseCode.ABNORMAL_CLOSURE,
  CloseCode.GOING_AWAY,
  CloseCode.INTERNAL_ERROR,
  CloseCode.SERVICE_RESTART,
  CloseCode.TRY_AGAIN_LATER,
  CloseCode.BAD_GATEWAY,
]);

/** The code that ended a connection: the peer's close frame's, else ours, else 1006. */
export function endingCode(info: CloseInfo): number {
  return info.received?.code ?? info.sent?.code ?? CloseCode.ABNORMAL_CLOSURE;
}

/** Whether a connection that ended this way is followed by a new one. */
export function reconnectsAfterClose(info: CloseInfo): boolean {
  return RECONNECT_CLOSE_CODES.has(endingCode(info));
}

/** What to do after a failed connection attempt. */
export type FailureVerdict =
  /** Try again; not before `retryAfter` ms (0: the backoff decides alone). */
  | { retry: true; retryAfter: number }
  | { retry: false };

/** Handshake errors that time can cure: the server did not answer (in time). */
const TRANSIENT_HANDSHAKE_CODES: ReadonlySet<string> = new Set([HandshakeErrorCode.CONNECT_TIMEOUT, HandshakeErrorCode.NO_RESPONSE]);

/** Whether (and when) to try again after connect() rejected with `error`. `now`: Date.now(), for an HTTP-date Retry-After. */
export function retryAfterFailure(error: unknown, now: number): FailureVerdict {
  if (error instanceof ClientHandshakeError) {
    const status = error.status;
    if (status !== undefined && (status >= 500 || status === 429)) {
      return { retry: true, retryAfter: parseRetryAfter(error.response?.headers.get('retry-after'), now) ?? 0 };
    }
    return TRANSIENT_HANDSHAKE_CODES.has(error.code) && status === undefined ? { retry: true, retryAfter: 0 } : { retry: false };
  }
  // A system error from the socket (connect, read, write, DNS) carries the
  // name of the call that failed; TLS certificate errors and our own
  // LocalErrors do not.
  if (error instanceof Error && typeof (error as NodeJS.ErrnoException).syscall === 'string') return { retry: true, retryAfter: 0 };
  return { retry: false };
}

/**
 * Retry-After (RFC 9110 §10.2.3): "either an HTTP-date or a number of
 * seconds to delay after receiving the response", as ms from `now`; undefined
 * if absent or unreadable (then the backoff alone decides).
 */
export function parseRetryAfter(value: string | undefined, now: number): number | undefined {
  if (value === undefined) return undefined;
  const text = value.trim();
  // delay-seconds = 1*DIGIT
  if (/^\d+$/.test(text)) return Number(text) * 1000;
  // HTTP-date (IMF-fixdate, or the obsolete RFC 850 and asctime forms) starts with the day's name.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - now);
}

/**
 * The delay before the next attempt, after `failures` attempts in a row
 * that failed (0 after a connection that lasted): d = min(maxDelay,
 * initialDelay × factor^(failures − 1)), less a random part of up to
 * `jitter` × d. `random` returns a number in [0, 1).
 */
export function backoffDelay(failures: number, policy: Required<ReconnectOptions>, random: () => number = Math.random): number {
  const nominal = Math.min(policy.maxDelay, policy.initialDelay * policy.factor ** Math.max(0, failures - 1));
  return Math.round(nominal * (1 - policy.jitter * random()));
}
