/**
 * The client's side of the negotiation (RFC 6455 §4.1 items 5 and 6, §9.1):
 * is what the server selected among our offers (a subprotocol, extensions)
 * something we offered? Apart from the HTTP/1.1 framing of the answer
 * (upgrade-response.ts checks the 101, Upgrade, Connection and
 * Sec-WebSocket-Accept), so that an answer carried another way (RFC 8441:
 * a 200 on an HTTP/2 stream) is judged by the same rules.
 *
 * The parameters of an accepted permessage-deflate are judged by
 * src/extensions/permessage-deflate-negotiation.ts (RFC 7692 §7).
 */
import { HandshakeError } from '../errors.js';
import { parseExtensionHeader } from '../extensions/extension-header.js';
import { ClientHandshakeError } from './client-handshake-error.js';
import { HandshakeErrorCode as Code } from './error-codes.js';
import type { HttpResponseHead } from './http-head-parser.js';
import { splitList } from './tokens.js';

/** What the client offered. */
export interface NegotiationOffer {
  /** Subprotocols offered, in order (may be empty). */
  protocols: readonly string[];
  /** The raw Sec-WebSocket-Extensions offer, `undefined` if none was sent. */
  extensions: string | undefined;
}

/** The server's answer fields: Sec-WebSocket-Extensions and Sec-WebSocket-Protocol, `undefined` when absent. */
export interface ServerSelection {
  extensions: string | undefined;
  protocol: string | undefined;
}

/** What the server agreed to. */
export interface AcceptedSelection {
  /** The subprotocol the server selected, `''` for none (§4.2.2 item 5.5: it may decline them all). */
  protocol: string;
  /** The Sec-WebSocket-Extensions answer as sent, `''` if none was accepted. */
  extensions: string;
  /** Names of the accepted extensions, lowercase, in the server's order. */
  extensionNames: string[];
}

/**
 * Judge the server's selection against our offer. Throws
 * `ClientHandshakeError` (carrying `head`, when there is one, for the
 * application to look at); returns what was agreed.
 */
export function checkServerSelection(selection: ServerSelection, offer: NegotiationOffer, head?: HttpResponseHead): AcceptedSelection {
  // §4.1 item 5: "If the response includes a |Sec-WebSocket-Extensions| header
  // field and this header field indicates the use of an extension that was not
  // present in the client's handshake (the server has indicated an extension
  // not requested by the client), the client MUST _Fail the WebSocket
  // Connection_." (§9.1 for the syntax.)
  const { extensions } = selection;
  let extensionNames: string[] = [];
  if (extensions !== undefined) {
    extensionNames = extensionNamesOf(extensions, (detail) => new ClientHandshakeError(Code.RESPONSE_EXTENSIONS, '9.1', `the server's Sec-WebSocket-Extensions is malformed: ${detail}`, head));
    const offered = offer.extensions === undefined ? [] : extensionNamesOf(offer.extensions, (detail) => new ClientHandshakeError(Code.RESPONSE_EXTENSIONS, '9.1', detail, head));
    // A Set, so that a long answer costs one lookup per name, not a scan of our offer each.
    const offeredNames = new Set(offered);
    for (const name of extensionNames) {
      if (!offeredNames.has(name)) {
        throw new ClientHandshakeError(
          Code.EXTENSION_NOT_OFFERED,
          '4.1',
          `the server accepted extension ${quote(name)}, which we did not offer (${offered.length === 0 ? 'we offered none' : `we offered ${offered.join(', ')}`}); RFC 6455 §4.1, §9.1`,
          head,
        );
      }
    }
  }

  // §4.1 item 6: "If the response includes a |Sec-WebSocket-Protocol| header
  // field and this header field indicates the use of a subprotocol that was
  // not present in the client's handshake (the server has indicated a
  // subprotocol not requested by the client), the client MUST _Fail the
  // WebSocket Connection_." §4.2.2 item 5.5: the server selects "a single
  // value". Answering none is the server's right (it "MUST NOT send back a
  // |Sec-WebSocket-Protocol| header field" then); the application decides
  // whether it can live without one.
  const protocolHeader = selection.protocol;
  let protocol = '';
  if (protocolHeader !== undefined) {
    const selected = splitList(protocolHeader);
    if (selected.length !== 1) {
      throw new ClientHandshakeError(
        Code.PROTOCOL_NOT_OFFERED,
        '4.2.2',
        `the server must select exactly one subprotocol, got Sec-WebSocket-Protocol: ${quote(protocolHeader)} (RFC 6455 §4.2.2 item 5.5)`,
        head,
      );
    }
    // Subprotocol names are compared exactly (§11.3.4 registers them as case-sensitive tokens).
    if (!offer.protocols.includes(selected[0])) {
      throw new ClientHandshakeError(
        Code.PROTOCOL_NOT_OFFERED,
        '4.1',
        `the server selected subprotocol ${quote(selected[0])}, which we did not offer (${offer.protocols.length === 0 ? 'we offered none' : `we offered ${offer.protocols.join(', ')}`}); RFC 6455 §4.1`,
        head,
      );
    }
    protocol = selected[0];
  }

  return { protocol, extensions: extensions ?? '', extensionNames };
}

/**
 * Names of the extensions in a Sec-WebSocket-Extensions value (§9.1),
 * lowercase, in order. Throws what `fail(detail)` returns if it is malformed.
 */
export function extensionNamesOf(value: string, fail: (detail: string) => Error): string[] {
  try {
    return parseExtensionHeader(value).map((element) => element.name);
  } catch (error) {
    if (error instanceof HandshakeError) throw fail(error.message);
    throw error;
  }
}

/** A peer-supplied value for an error message: quoted, escaped, cut at 64 characters. */
function quote(value: string): string {
  return JSON.stringify(value.length > 64 ? `${value.slice(0, 64)}…` : value);
}
