/**
 * permessage-deflate (RFC 7692) negotiation, for both roles: the options,
 * the client's offer and its check of the server's answer (§7.1), the
 * server's choice among the client's offers and its answer (§5, §7.1), and
 * the codec each end then runs (src/extensions/permessage-deflate.ts).
 *
 * Names. The RFC names every parameter after the end it binds:
 * `server_max_window_bits` is the server's compressor window whoever writes
 * it. The options and what negotiation settles (DeflateAgreement) keep those
 * names, so they read like the RFC on both sides. The codec speaks of
 * `local` (the compressor we run) and `remote` (the peer's, whose messages we
 * inflate); deflateCodec() is the one place where a role turns the one into
 * the other.
 */
import { LocalError } from '../errors.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import type { HttpResponseHead } from '../handshake/http-head-parser.js';
import { ClientHandshakeError } from '../handshake/upgrade-response.js';
import { boolean, integer, INVALID_OPTION, resolveOptions, type OptionRules } from '../options/option-rules.js';
import { formatExtension, type ExtensionOffer } from './extension-header.js';
import { PERMESSAGE_DEFLATE, PerMessageDeflate } from './permessage-deflate.js';

/**
 * permessage-deflate options, the same for a server and a client, each named
 * after the RFC 7692 parameter it sets. A `server*` option binds the server's
 * compressor: a server applies it to itself, a client asks it of the server.
 * A `client*` option binds the client's compressor: a client applies it to
 * itself (and says so), a server asks it of the client.
 */
export interface PerMessageDeflateOptions {
  /**
   * The server resets its compression context after every message
   * (§7.1.1.1): no 32 KiB outgoing window kept per connection on the server,
   * nor incoming on the client; costs ratio. Default false.
   */
  serverNoContextTakeover?: boolean;
  /** The client resets its compression context after every message (§7.1.1.2). Default false. */
  clientNoContextTakeover?: boolean;
  /** The server compresses with an LZ77 window of at most 2^N bytes, 8–15 (§7.1.2.1). Default 15. */
  serverMaxWindowBits?: number;
  /**
   * The client compresses with a window of at most 2^N bytes, 8–15
   * (§7.1.2.2). A server can ask this only of a client that offered the
   * parameter (ours always does). Default 15.
   */
  clientMaxWindowBits?: number;
  /** zlib compression level of our compressor, 0–9 (−1: zlib's default, 6). Default 6. */
  level?: number;
  /** zlib memLevel of our compressor, 1–9: memory for its state, transient here (freed after each message). Default 8. */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /**
   * How much of our earlier output our compressor may refer back to, in
   * bytes (capped by its window). A longer preset dictionary compresses
   * chatty traffic better but zlib must index it on every message. 0–32768,
   * default 4096, see bench/RESULTS.md.
   */
  contextBytes?: number;
}

/** The same options as a client passes them (kept as a name of its own: the public API had one). */
export type ClientDeflateOptions = PerMessageDeflateOptions;

/** The options with every default filled in. */
export type DeflateSettings = Required<PerMessageDeflateOptions>;

export const DEFAULT_DEFLATE_OPTIONS: Readonly<DeflateSettings> = Object.freeze({
  serverNoContextTakeover: false,
  clientNoContextTakeover: false,
  serverMaxWindowBits: 15,
  clientMaxWindowBits: 15,
  level: 6,
  memLevel: 8,
  threshold: 1024,
  contextBytes: 4096,
});

/** permessage-deflate (RFC 7692), the same options for both roles. */
export const DEFLATE_OPTION_RULES: OptionRules<PerMessageDeflateOptions> = {
  serverNoContextTakeover: boolean,
  clientNoContextTakeover: boolean,
  // §7.1.2: "a value in the range of 8 to 15"; zlib has no other windows.
  serverMaxWindowBits: integer(8, 15, 'bits'),
  clientMaxWindowBits: integer(8, 15, 'bits'),
  // zlib's own ranges (−1: its default level).
  level: integer(-1, 9),
  memLevel: integer(1, 9),
  threshold: integer(0, Number.MAX_SAFE_INTEGER, 'bytes'),
  // The largest window there is, 2^15.
  contextBytes: integer(0, 32_768, 'bytes'),
};

/** The permessage-deflate options alone (`true`: all defaults), checked and complete. Throws LocalError WS_ERR_INVALID_OPTION. */
export function resolveDeflateOptions(options: PerMessageDeflateOptions | true = {}): DeflateSettings {
  return resolveOptions(DEFLATE_OPTION_RULES, DEFAULT_DEFLATE_OPTIONS, options === true ? {} : options, 'perMessageDeflate.', true);
}

/** What negotiation settled, in the RFC's terms: each parameter names the end it binds. */
export interface DeflateAgreement {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

/** The server's choice: the agreement, and the response element that states it. */
export interface AcceptedDeflateOffer extends DeflateAgreement {
  /** `permessage-deflate; server_no_context_takeover; ...`, for Sec-WebSocket-Extensions. */
  response: string;
}

// ─── the server: pick an offer, answer it ──────────────────────────────────

/**
 * Pick the first acceptable permessage-deflate offer (§5: "the server ...
 * accepts [offers] in order of the client's preference") and work out the
 * agreed parameters. An offer with an unknown parameter, a duplicate one, or
 * an invalid value is declined (§7: "MUST decline"), and the next is tried.
 * Returns undefined when no offer is acceptable.
 */
export function negotiateDeflate(offers: readonly ExtensionOffer[], options: PerMessageDeflateOptions | true = {}): AcceptedDeflateOffer | undefined {
  const settings = resolveDeflateOptions(options);
  for (const offer of offers) {
    if (offer.name !== PERMESSAGE_DEFLATE) continue;
    const accepted = acceptOffer(offer, settings);
    if (accepted) return accepted;
  }
  return undefined;
}

function acceptOffer(offer: ExtensionOffer, settings: DeflateSettings): AcceptedDeflateOffer | undefined {
  const seen = new Set<string>();
  let serverNoContextTakeover = settings.serverNoContextTakeover;
  const clientNoContextTakeover = settings.clientNoContextTakeover;
  let offeredServerBits: number | undefined;
  let clientBitsOffered = false;
  let offeredClientBits: number | undefined;
  for (const [name, value] of offer.params) {
    if (seen.has(name)) return undefined; // §7: "multiple extension parameters with the same name" decline the offer
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) return undefined;
        // §7.1.1.1: a server accepting this offer must include it.
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        // §7.1.1.2: a hint that the client can reset its context; we may use it.
        if (value !== true) return undefined;
        break;
      case 'server_max_window_bits':
        // §7.1.2.1: the value is required, 8–15.
        offeredServerBits = windowBits(value);
        if (offeredServerBits === undefined) return undefined;
        break;
      case 'client_max_window_bits':
        // §7.1.2.2: the value is optional in an offer.
        clientBitsOffered = true;
        if (value !== true) {
          offeredClientBits = windowBits(value);
          if (offeredClientBits === undefined) return undefined;
        }
        break;
      default:
        return undefined; // an unknown parameter declines the offer
    }
  }
  const params: Array<[string, string | true]> = [];
  if (serverNoContextTakeover) params.push(['server_no_context_takeover', true]);
  if (clientNoContextTakeover) params.push(['client_no_context_takeover', true]);
  // §7.1.2.1: answer an offered server_max_window_bits with the same or a
  // smaller value; we may also limit ourselves unasked.
  const serverMaxWindowBits = Math.min(settings.serverMaxWindowBits, offeredServerBits ?? 15);
  if (offeredServerBits !== undefined || serverMaxWindowBits < 15) params.push(['server_max_window_bits', String(serverMaxWindowBits)]);
  // §7.1.2.2: client_max_window_bits may only be answered if offered.
  let clientMaxWindowBits = 15;
  if (clientBitsOffered) {
    clientMaxWindowBits = Math.min(settings.clientMaxWindowBits, offeredClientBits ?? 15);
    if (clientMaxWindowBits < 15 || offeredClientBits !== undefined) params.push(['client_max_window_bits', String(clientMaxWindowBits)]);
  }
  return {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits,
    clientMaxWindowBits,
    response: formatExtension(PERMESSAGE_DEFLATE, params),
  };
}

// ─── the client: offer, check the answer ───────────────────────────────────

/** The Sec-WebSocket-Extensions element offering permessage-deflate with `options`. */
export function deflateOffer(options: PerMessageDeflateOptions | true = {}): string {
  const settings = resolveDeflateOptions(options);
  let offer = PERMESSAGE_DEFLATE;
  if (settings.serverNoContextTakeover) offer += '; server_no_context_takeover';
  if (settings.clientNoContextTakeover) offer += '; client_no_context_takeover';
  if (settings.serverMaxWindowBits < 15) offer += `; server_max_window_bits=${settings.serverMaxWindowBits}`;
  // §7.1.2.2: without a value, "the client supports ... [a] value ... the
  // server may choose": offering it always lets a memory-conscious server
  // shrink our window.
  offer += settings.clientMaxWindowBits < 15 ? `; client_max_window_bits=${settings.clientMaxWindowBits}` : '; client_max_window_bits';
  return offer;
}

/**
 * Judge the server's permessage-deflate element against our offer (RFC 7692
 * §7: "A client MUST _Fail the WebSocket Connection_ if the peer server
 * accepted an extension negotiation offer for this extension with an
 * extension negotiation response meeting any of the following conditions:
 * the negotiation response contains an extension parameter not defined for
 * use in a response; ... an extension parameter with an invalid value; ...
 * multiple extension parameters with the same name; the client does not
 * support the configuration that the response represents.") Returns what
 * both ends will do; throws ClientHandshakeError.
 */
export function acceptDeflateResponse(elements: readonly ExtensionOffer[], options: PerMessageDeflateOptions | true, head: HttpResponseHead): DeflateAgreement {
  const settings = resolveDeflateOptions(options);
  const fail = (detail: string): ClientHandshakeError => new ClientHandshakeError(Code.RESPONSE_EXTENSIONS, 'RFC 7692 §7', `the server's permessage-deflate answer is invalid: ${detail}`, head);
  const accepted = elements.filter((element) => element.name === PERMESSAGE_DEFLATE);
  // We made one offer; an answer accepts it once.
  if (accepted.length !== 1) throw fail(`it appears ${accepted.length} times`);
  const seen = new Set<string>();
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = settings.clientNoContextTakeover;
  let serverMaxWindowBits = 15;
  let clientMaxWindowBits = settings.clientMaxWindowBits;
  for (const [name, value] of accepted[0].params) {
    if (seen.has(name)) throw fail(`parameter ${name} appears twice`);
    seen.add(name);
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) throw fail('server_no_context_takeover takes no value');
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        // §7.1.1.2: the server may ask this of us even if we did not offer it.
        if (value !== true) throw fail('client_no_context_takeover takes no value');
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits': {
        // §7.1.2.1: a value 8–15, at most the one we asked for.
        const bits = windowBits(value);
        if (bits === undefined) throw fail(`server_max_window_bits=${String(value)} is not 8-15`);
        if (bits > settings.serverMaxWindowBits) throw fail(`server_max_window_bits=${bits} exceeds the ${settings.serverMaxWindowBits} we asked for`);
        serverMaxWindowBits = bits;
        break;
      }
      case 'client_max_window_bits': {
        // §7.1.2.2: a value 8–15 that limits our window (we always offer the parameter).
        const bits = windowBits(value);
        if (bits === undefined) throw fail(`client_max_window_bits=${String(value)} is not 8-15`);
        clientMaxWindowBits = Math.min(clientMaxWindowBits, bits);
        break;
      }
      default:
        throw fail(`unknown parameter ${name}`);
    }
  }
  return { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits };
}

// ─── either end: the codec for what was agreed ─────────────────────────────

/**
 * The codec for our end of `agreement`. Our compressor is the one the
 * agreement names after our role, the peer's the other one: a server
 * compresses under the `server*` parameters and inflates what the client
 * compressed under the `client*` ones; a client the other way round. The
 * zlib settings (level, memLevel, threshold, contextBytes) come from
 * `options`.
 */
export function deflateCodec(role: 'server' | 'client', agreement: DeflateAgreement, options: PerMessageDeflateOptions | true = {}): PerMessageDeflate {
  const settings = resolveDeflateOptions(options);
  const server = role === 'server';
  if (!server && role !== 'client') throw new LocalError(INVALID_OPTION, `role must be 'server' or 'client', got ${String(role)}`);
  return new PerMessageDeflate({
    localNoContextTakeover: server ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover,
    remoteNoContextTakeover: server ? agreement.clientNoContextTakeover : agreement.serverNoContextTakeover,
    localMaxWindowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,
    remoteMaxWindowBits: server ? agreement.clientMaxWindowBits : agreement.serverMaxWindowBits,
    level: settings.level,
    memLevel: settings.memLevel,
    threshold: settings.threshold,
    contextBytes: settings.contextBytes,
  });
}

/** A window-bits value (§7.1.2: 1*DIGIT without leading zeros), 8–15; undefined if it is not one. */
function windowBits(value: string | true): number | undefined {
  if (value === true || value.length === 0 || value.length > 2 || (value.length === 2 && value[0] === '0')) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const bits = Number(value);
  return bits >= 8 && bits <= 15 ? bits : undefined;
}
