/**
 * permessage-deflate (RFC 7692) from the client's side: the offer it sends,
 * the checks on the server's answer (§7.1), and the codec for the agreed
 * parameters. The codec itself is the server's (src/extensions/
 * permessage-deflate.ts), fed the agreement seen from the other end.
 */
import { LocalError } from '../errors.js';
import type { ExtensionOffer } from '../extensions/extension-header.js';
import { PERMESSAGE_DEFLATE, PerMessageDeflate, type DeflateAgreement } from '../extensions/permessage-deflate.js';
import { HandshakeErrorCode as Code } from '../handshake/error-codes.js';
import type { HttpResponseHead } from '../handshake/http-head-parser.js';
import { ClientHandshakeError } from '../handshake/upgrade-response.js';

/** What the client asks for, and how it compresses. */
export interface ClientDeflateOptions {
  /** Ask the server to reset its compression context after every message (§7.1.1.1): saves our 32 KiB inflate window, costs ratio. Default false. */
  serverNoContextTakeover?: boolean;
  /** Reset our own context after every message, and say so (§7.1.1.2). Default false. */
  clientNoContextTakeover?: boolean;
  /** Ask the server to compress with a window of at most 2^N bytes, 8–15 (§7.1.2.1). Default 15 (nothing asked). */
  serverMaxWindowBits?: number;
  /** Our largest compression window, 8–15 (§7.1.2.2); the server may lower it further. Default 15. */
  clientMaxWindowBits?: number;
  /** zlib compression level 0–9. Default 6. */
  level?: number;
  /** zlib memLevel 1–9. Default 8. */
  memLevel?: number;
  /** Messages smaller than this many bytes are sent uncompressed. Default 1024. */
  threshold?: number;
  /** How much of our earlier output the compressor may refer back to, in bytes (capped by the window). Default 4096. */
  contextBytes?: number;
}

/** The Sec-WebSocket-Extensions element offering permessage-deflate with `options`. */
export function deflateOffer(options: ClientDeflateOptions): string {
  const bits = (name: 'serverMaxWindowBits' | 'clientMaxWindowBits'): number => {
    const value = options[name] ?? 15;
    if (!Number.isInteger(value) || value < 8 || value > 15) {
      throw new LocalError('WS_ERR_INVALID_DEFLATE_OPTION', `perMessageDeflate.${name} must be an integer from 8 to 15, got ${String(value)}`);
    }
    return value;
  };
  const serverBits = bits('serverMaxWindowBits');
  const clientBits = bits('clientMaxWindowBits');
  let offer = PERMESSAGE_DEFLATE;
  if (options.serverNoContextTakeover) offer += '; server_no_context_takeover';
  if (options.clientNoContextTakeover) offer += '; client_no_context_takeover';
  if (serverBits < 15) offer += `; server_max_window_bits=${serverBits}`;
  // §7.1.2.2: without a value, "the client supports ... [a] value ... the
  // server may choose": offering it always lets a memory-conscious server
  // shrink our window.
  offer += clientBits < 15 ? `; client_max_window_bits=${clientBits}` : '; client_max_window_bits';
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
export function acceptDeflateResponse(elements: readonly ExtensionOffer[], options: ClientDeflateOptions, head: HttpResponseHead): DeflateAgreement {
  const fail = (detail: string): ClientHandshakeError => new ClientHandshakeError(Code.RESPONSE_EXTENSIONS, 'RFC 7692 §7', `the server's permessage-deflate answer is invalid: ${detail}`, head);
  const accepted = elements.filter((element) => element.name === PERMESSAGE_DEFLATE);
  // We made one offer; an answer accepts it once.
  if (accepted.length !== 1) throw fail(`it appears ${accepted.length} times`);
  const params = accepted[0].params;
  const seen = new Set<string>();
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = options.clientNoContextTakeover === true;
  let serverMaxWindowBits = 15;
  let clientMaxWindowBits = options.clientMaxWindowBits ?? 15;
  for (const [name, value] of params) {
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
        const asked = options.serverMaxWindowBits ?? 15;
        if (bits > asked) throw fail(`server_max_window_bits=${bits} exceeds the ${asked} we asked for`);
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
  return { serverNoContextTakeover, clientNoContextTakeover, serverMaxWindowBits, clientMaxWindowBits, response: '' };
}

/**
 * The codec for the client's end. PerMessageDeflate compresses with the
 * `server*` half of an agreement and inflates with the `client*` half (it was
 * written for the server); the client's end is the same codec with the halves
 * swapped: we compress under the client's parameters and inflate what the
 * server compressed under its own.
 */
export function clientDeflateCodec(agreement: DeflateAgreement, options: ClientDeflateOptions): PerMessageDeflate {
  const mirrored: DeflateAgreement = {
    serverNoContextTakeover: agreement.clientNoContextTakeover,
    clientNoContextTakeover: agreement.serverNoContextTakeover,
    serverMaxWindowBits: agreement.clientMaxWindowBits,
    clientMaxWindowBits: agreement.serverMaxWindowBits,
    response: agreement.response,
  };
  // Only the settings given: an `undefined` would override the codec's default.
  const settings: ClientDeflateOptions = {};
  for (const name of ['level', 'memLevel', 'threshold', 'contextBytes'] as const) {
    if (options[name] !== undefined) settings[name] = options[name];
  }
  return new PerMessageDeflate(mirrored, settings);
}

/** §7.1.2: 1*DIGIT without leading zeros, 8–15. */
function windowBits(value: string | true): number | undefined {
  if (value === true || value.length === 0 || value.length > 2 || (value.length === 2 && value[0] === '0')) return undefined;
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return undefined;
  }
  const bits = Number(value);
  return bits >= 8 && bits <= 15 ? bits : undefined;
}
