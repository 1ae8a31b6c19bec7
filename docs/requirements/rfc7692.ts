/**
 * RFC 7692 (permessage-deflate) requirements that bind a client or a server,
 * traced to code and tests (see types.ts). Sentences in quotes are the RFC's;
 * the others are close paraphrases. Examples (§7.1.3, §7.2.3) are not listed.
 */
import type { CodeRef, Requirement, TestRef } from './types.js';

const code = (file: string, contains: string, occurrence?: number): CodeRef => (occurrence === undefined ? { file, contains } : { file, contains, occurrence });
const test = (file: string, name: string): TestRef => ({ file, name });

const DEFLATE = 'src/extensions/permessage-deflate.ts';
const NEGOTIATION = 'src/extensions/permessage-deflate-negotiation.ts';
const CLIENT_HS = 'src/handshake/client-handshake.ts';
const SERVER_NEG = 'src/handshake/server-negotiation.ts';
const CLIENT_NEG = 'src/handshake/client-negotiation.ts';
const PROTOCOL = 'src/protocol/protocol.ts';
const PARSER = 'src/framing/frame-parser.ts';
const SERVER_HS = 'src/handshake/server-handshake.ts';

const T_PMD = 'test/unit/permessage-deflate.test.ts';
const T_SERVER_HS = 'test/unit/server-handshake.test.ts';
const T_CLIENT_HS = 'test/unit/client-handshake.test.ts';
const T_PROTOCOL_DEFLATE = 'test/unit/protocol-deflate.test.ts';
const T_CLIENT_REQUEST = 'test/unit/client-request.test.ts';
const E_DEFLATE = 'test/e2e/deflate.test.ts';
const E_CLIENT_OURS = 'test/e2e/client-ours.test.ts';

const NEGOTIATION_TABLE = test(T_PMD, 'negotiation table (RFC 7692 §7.1)');
const CLIENT_REFUSES = test(T_CLIENT_REQUEST, 'fails the connection on an answer it cannot honour (§7)');
const CLIENT_HANDSHAKE_FAILS = test(T_CLIENT_HS, '${c.name}: ${c.code}, whatever the cut');
const SERVER_ACCEPTS = test(T_SERVER_HS, 'extensions: permessage-deflate accepted when enabled, with its answer and codec');
const CLIENT_ACCEPTS = test(T_CLIENT_HS, 'permessage-deflate accepted: the codec is built for the agreed parameters');

export const RFC7692: Requirement[] = [
  // ------------------------------------------------------------------ §5
  {
    id: '7692-5-client-offers-by-name',
    rfc: 7692, section: '5', keyword: 'MUST', roles: 'client',
    text: 'To offer a PMCE, a client MUST include its extension name in the |Sec-WebSocket-Extensions| header of its opening handshake.',
    code: [code(NEGOTIATION, 'let offer = PERMESSAGE_DEFLATE;')],
    tests: [test(T_CLIENT_REQUEST, 'offers what was asked for, always with client_max_window_bits'), test(E_CLIENT_OURS, 'permessage-deflate: offered, negotiated, compressed both ways')],
  },
  {
    id: '7692-5-server-accepts-by-name',
    rfc: 7692, section: '5', keyword: 'MUST', roles: 'server',
    text: 'To accept an offered PMCE, a server MUST include its extension name in the |Sec-WebSocket-Extensions| header of its opening handshake.',
    code: [code(NEGOTIATION, 'response: formatExtension(PERMESSAGE_DEFLATE, params),'), code(SERVER_NEG, "return { extensions: accepted.response, extension: deflateCodec('server', accepted, deflate) };"), code(SERVER_HS, 'extensions: decisions.extensions, headers: decisions.headers')],
    tests: [NEGOTIATION_TABLE, SERVER_ACCEPTS, test(E_DEFLATE, 'offers spread over two header lines are one list')],
  },
  {
    id: '7692-5-client-fails-invalid-response',
    rfc: 7692, section: '5', keyword: 'MUST', roles: 'client',
    text: '"If a server gives an invalid response, such as accepting a PMCE that the client did not offer, the client MUST _Fail the WebSocket Connection_."',
    code: [code(CLIENT_NEG, 'if (!offeredNames.has(name)) {'), code(NEGOTIATION, 'if (accepted.length !== 1) throw fail(')],
    tests: [test('test/e2e/client-handshake.test.ts', 'an extension that was not offered → HS_ERR_EXTENSION_NOT_OFFERED'), CLIENT_REFUSES, CLIENT_HANDSHAKE_FAILS],
  },
  {
    id: '7692-5-use-agreed',
    rfc: 7692, section: '5', keyword: 'MUST', roles: 'both',
    text: '"If a server responds with a valid PMCE element in the "Sec-WebSocket-Extensions" header and _the WebSocket Connection is established_, both endpoints MUST use the algorithm described in Section 6 and the message payload transformation procedure of the PMCE configured with the "agreed parameters" returned by the server to exchange messages." — each end builds its codec from the server\'s answer, for its own role.',
    code: [code(SERVER_NEG, "return { extensions: accepted.response, extension: deflateCodec('server', accepted, deflate) };"), code(CLIENT_HS, "extension = deflateCodec('client', agreement, this.#deflate);"), code(NEGOTIATION, 'localMaxWindowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,')],
    tests: [SERVER_ACCEPTS, CLIENT_ACCEPTS, test(T_CLIENT_REQUEST, 'the client codec is the server codec seen from the other end'), test(E_CLIENT_OURS, 'permessage-deflate: offered, negotiated, compressed both ways')],
  },
  {
    id: '7692-5-rsv1-conflict',
    rfc: 7692, section: '5', keyword: 'MUST NOT', roles: 'both',
    text: '"A server MUST NOT accept a PMCE extension negotiation offer together with another extension if the PMCE will conflict with the extension on their use of the RSV1 bit. A client that received a response accepting a PMCE extension negotiation offer together with such an extension MUST _Fail the WebSocket Connection_." (Likewise for an extension whose output the PMCE would compress when it needs frame boundaries or per-frame bits.)',
    status: 'not-applicable',
    why: 'permessage-deflate is the only extension the server accepts, and the client accepts no extension it did not offer (6455-4.1-response-extensions); no other extension can be in use beside it.',
  },

  // ------------------------------------------------------------------ §6
  {
    id: '7692-6-no-rsv1-on-control-sent',
    rfc: 7692, section: '6', keyword: 'MUST NOT', roles: 'both',
    text: '"An endpoint MUST NOT set the "Per-Message Compressed" bit of control frames and non-first fragments of a data message." — we compress a whole message into one frame and never set it on a control frame.',
    code: [code(PROTOCOL, 'this.encodeBytes(this.encodingOpcode, output!, true, true, this.extension!.rsvBits);'), code(PROTOCOL, 'this.encodeBytes(opcode, output, true, true, extension.rsvBits);')],
    tests: [test(T_PROTOCOL_DEFLATE, 'outgoing: at or above the threshold compressed with RSV1 set, below it plain'), test(E_DEFLATE, 'RSV1 is set on what we send at and above the threshold')],
  },
  {
    id: '7692-6-rsv1-control-received',
    rfc: 7692, section: '6', keyword: 'MUST', roles: 'both',
    text: '"An endpoint receiving such a frame MUST _Fail the WebSocket Connection_." — a control frame with RSV1 set.',
    code: [code(PARSER, 'if (rsv !== 0 && ((rsv & ~this.allowedRsv) !== 0 || isControlOpcode(opcode))) {')],
    tests: [test(T_PROTOCOL_DEFLATE, 'RSV1 on control frames fails with 1002'), test(E_DEFLATE, 'RSV1 on a ${name} frame → 1002')],
  },
  {
    id: '7692-6-rsv1-continuation-received',
    rfc: 7692, section: '6', keyword: 'MUST', roles: 'both',
    text: '"An endpoint receiving such a frame MUST _Fail the WebSocket Connection_." — a non-first fragment with RSV1 set.',
    code: [code(PROTOCOL, "'reserved bits set on a continuation frame', 'RFC 7692 §6'")],
    tests: [test(T_PROTOCOL_DEFLATE, 'RSV1 on a continuation frame fails with 1002'), test(E_DEFLATE, 'RSV1 on a continuation frame → 1002'), test(E_DEFLATE, 'RSV1 on a continuation of an uncompressed message → 1002')],
  },
  {
    id: '7692-6-rsv1-only-when-negotiated',
    rfc: 7692, section: '6', keyword: 'MUST', roles: 'both',
    text: 'The "Per-Message Compressed" bit has its meaning only on a connection where the PMCE was negotiated; elsewhere RSV1 is a protocol error (RFC 6455 §5.2).',
    code: [code(PROTOCOL, 'allowedRsv: this.extension !== null ? this.extension.rsvBits : 0')],
    tests: [test(E_DEFLATE, 'RSV1 without negotiation → 1002 (deflate enabled on the server, not offered by the client)'), test(E_DEFLATE, 'RSV1 without negotiation → 1002 (offer declined)')],
  },

  // ------------------------------------------------------------------ §6.1, §6.2
  {
    id: '7692-6.1-first-frame-marked',
    rfc: 7692, section: '6.1', keyword: 'MUST', roles: 'both',
    text: 'A compressed message is sent with the "Per-Message Compressed" bit set on its first frame; a message sent uncompressed has it clear.',
    code: [code(PROTOCOL, 'this.encodeBytes(opcode, output, true, true, extension.rsvBits);')],
    tests: [test(E_DEFLATE, 'a custom threshold: below it plain, at it compressed'), test(T_PROTOCOL_DEFLATE, 'outgoing: at or above the threshold compressed with RSV1 set')],
  },
  {
    id: '7692-6.2-decompress-marked-only',
    rfc: 7692, section: '6.2', keyword: 'MUST', roles: 'both',
    text: 'A received message is decompressed when its first frame has the "Per-Message Compressed" bit set, and taken as it is otherwise; its fragments are concatenated before decompression.',
    code: [code(PROTOCOL, 'this.messageCompressed = rsv !== 0;'), code(PROTOCOL, 'const inflated = this.extension!.decode(compressed, this.wholeMessageLimit, this.decodeDone);')],
    tests: [test(T_PROTOCOL_DEFLATE, 'uncompressed messages still work on a deflate connection (RSV1 clear)'), test(E_DEFLATE, 'a compressed message in frames of ${fragment} B (RSV1 on the first only) is echoed'), test(E_DEFLATE, 'an uncompressed fragmented message is still fine with deflate agreed')],
  },

  // ------------------------------------------------------------------ §7
  {
    id: '7692-7-decline-unknown-parameter',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'server',
    text: 'A server MUST decline an offer that contains an extension parameter not defined for use in an offer.',
    code: [code(NEGOTIATION, 'return undefined; // an unknown parameter declines the offer')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7-decline-invalid-value',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'server',
    text: 'A server MUST decline an offer that contains an extension parameter with an invalid value.',
    code: [code(NEGOTIATION, 'if (offeredServerBits === undefined) return undefined;'), code(NEGOTIATION, 'if (offeredClientBits === undefined) return undefined;')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7-decline-duplicate',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'server',
    text: 'A server MUST decline an offer that contains multiple extension parameters with the same name.',
    code: [code(NEGOTIATION, 'if (seen.has(name)) return undefined;')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7-decline-unsupported',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'server',
    text: 'A server MUST decline an offer whose configuration it does not support.',
    status: 'not-applicable',
    why: 'Every valid configuration is supported (both context-takeover modes, windows 8–15), so a valid offer is never declined for this reason.',
  },
  {
    id: '7692-7-client-fails-unknown-parameter',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'client',
    text: 'A client MUST _Fail the WebSocket Connection_ if the accepting response contains an extension parameter not defined for use in a response.',
    code: [code(NEGOTIATION, 'throw fail(`unknown parameter ${name}`);')],
    tests: [CLIENT_REFUSES, CLIENT_HANDSHAKE_FAILS],
  },
  {
    id: '7692-7-client-fails-invalid-value',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'client',
    text: 'A client MUST _Fail the WebSocket Connection_ if the response contains an extension parameter with an invalid value.',
    code: [code(NEGOTIATION, 'throw fail(`server_max_window_bits=${String(value)} is not 8-15`);'), code(NEGOTIATION, "throw fail('server_no_context_takeover takes no value');")],
    tests: [CLIENT_REFUSES],
  },
  {
    id: '7692-7-client-fails-duplicate',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'client',
    text: 'A client MUST _Fail the WebSocket Connection_ if the response contains multiple extension parameters with the same name.',
    code: [code(NEGOTIATION, 'throw fail(`parameter ${name} appears twice`);')],
    tests: [CLIENT_REFUSES],
  },
  {
    id: '7692-7-client-fails-unsupported',
    rfc: 7692, section: '7', keyword: 'MUST', roles: 'client',
    text: 'A client MUST _Fail the WebSocket Connection_ if it does not support the configuration the response represents (e.g. a server_max_window_bits larger than it asked for).',
    code: [code(NEGOTIATION, 'if (bits > settings.serverMaxWindowBits) throw fail(')],
    tests: [CLIENT_REFUSES],
  },

  // ------------------------------------------------------------------ §7.1.1
  {
    id: '7692-7.1.1.1-no-value',
    rfc: 7692, section: '7.1.1.1', keyword: 'MUST', roles: 'both',
    text: 'The "server_no_context_takeover" parameter has no value, in an offer and in a response.',
    code: [code(NEGOTIATION, 'if (value !== true) return undefined;', 1), code(NEGOTIATION, "throw fail('server_no_context_takeover takes no value');")],
    tests: [NEGOTIATION_TABLE, CLIENT_REFUSES],
  },
  {
    id: '7692-7.1.1.1-server-answers',
    rfc: 7692, section: '7.1.1.1', keyword: 'RECOMMENDED', roles: 'server',
    text: '"It is RECOMMENDED that a server supports the "server_no_context_takeover" extension parameter in an extension negotiation offer"; a server accepts such an offer by including the parameter in its response.',
    code: [code(NEGOTIATION, "if (serverNoContextTakeover) params.push(['server_no_context_takeover', true]);")],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7.1.1.1-no-takeover',
    rfc: 7692, section: '7.1.1.1', keyword: 'MUST NOT', roles: 'both',
    text: 'With "server_no_context_takeover" agreed, the server does not use context takeover: each message it sends is compressed with an empty window.',
    code: [code(NEGOTIATION, 'localNoContextTakeover: server ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover,'), code(DEFLATE, 'this.outgoingWindow = config.localNoContextTakeover ||')],
    tests: [test(E_DEFLATE, 'server_no_context_takeover: every message inflates on its own')],
  },
  {
    id: '7692-7.1.1.2-client-supports',
    rfc: 7692, section: '7.1.1.2', keyword: 'MUST', roles: 'client',
    text: '"A client MUST support the "client_no_context_takeover" extension parameter" in a response (even when it did not offer it), and then not use context takeover.',
    code: [code(NEGOTIATION, "throw fail('client_no_context_takeover takes no value');"), code(NEGOTIATION, 'clientNoContextTakeover = true;'), code(NEGOTIATION, 'localNoContextTakeover: server ? agreement.serverNoContextTakeover : agreement.clientNoContextTakeover,')],
    tests: [test(T_CLIENT_REQUEST, 'limits on our window and context'), test(T_CLIENT_REQUEST, 'the client codec is the server codec seen from the other end')],
  },
  {
    id: '7692-7.1.1.2-no-value',
    rfc: 7692, section: '7.1.1.2', keyword: 'MUST', roles: 'server',
    text: 'The "client_no_context_takeover" parameter has no value; the server may use it from an offer or ask for it unasked.',
    code: [code(NEGOTIATION, 'if (value !== true) return undefined;', 2), code(NEGOTIATION, "if (clientNoContextTakeover) params.push(['client_no_context_takeover', true]);")],
    tests: [NEGOTIATION_TABLE, test(E_DEFLATE, 'client_no_context_takeover policy: the client may reset its context')],
  },

  // ------------------------------------------------------------------ §7.1.2
  {
    id: '7692-7.1.2.1-abnf',
    rfc: 7692, section: '7.1.2.1', keyword: 'MUST', roles: 'both',
    text: '"server_max_window_bits" has a decimal value without leading zeroes from 8 to 15 and MUST conform to its ABNF (1*DIGIT), in an offer and in a response.',
    code: [code(NEGOTIATION, "if (value === true || value.length === 0 || value.length > 2 || (value.length === 2 && value[0] === '0')) return undefined;"), code(NEGOTIATION, 'if (bits === undefined) throw fail(`server_max_window_bits=')],
    tests: [NEGOTIATION_TABLE, CLIENT_REFUSES],
  },
  {
    id: '7692-7.1.2.1-same-or-smaller',
    rfc: 7692, section: '7.1.2.1', keyword: 'MUST', roles: 'server',
    text: '"A server accepts an extension negotiation offer with this parameter by including the "server_max_window_bits" extension parameter in the extension negotiation response to send back to the client with the same or smaller value as the offer." (It may also send it unasked.)',
    code: [code(NEGOTIATION, 'const serverMaxWindowBits = Math.min(settings.serverMaxWindowBits, offeredServerBits ?? 15);')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7.1.2.1-window-used',
    rfc: 7692, section: '7.1.2.1', keyword: 'MUST NOT', roles: 'both',
    text: 'The endpoint the limit applies to compresses with an LZ77 window no larger than the agreed "server_max_window_bits".',
    code: [code(NEGOTIATION, 'localMaxWindowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,'), code(DEFLATE, 'windowBits: this.config.localMaxWindowBits,')],
    tests: [test(E_DEFLATE, 'server_max_window_bits=${bits}: what we send inflates with a'), test(T_CLIENT_REQUEST, 'the client codec is the server codec seen from the other end')],
  },
  {
    id: '7692-7.1.2.2-abnf',
    rfc: 7692, section: '7.1.2.2', keyword: 'MUST', roles: 'both',
    text: '"client_max_window_bits" has no value or a decimal value without leading zeroes from 8 to 15; a value given MUST conform to its ABNF.',
    code: [code(NEGOTIATION, 'offeredClientBits = windowBits(value);'), code(NEGOTIATION, 'throw fail(`client_max_window_bits=${String(value)} is not 8-15`);')],
    tests: [NEGOTIATION_TABLE, CLIENT_REFUSES],
  },
  {
    id: '7692-7.1.2.2-only-if-offered',
    rfc: 7692, section: '7.1.2.2', keyword: 'MUST NOT', roles: 'server',
    text: '"If a received extension negotiation offer doesn\'t have the "client_max_window_bits" extension parameter, the corresponding extension negotiation response to the offer MUST NOT include the "client_max_window_bits" extension parameter."',
    code: [code(NEGOTIATION, 'if (clientBitsOffered) {')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7.1.2.2-equal-or-smaller',
    rfc: 7692, section: '7.1.2.2', keyword: 'MUST', roles: 'server',
    text: 'A server that answers an offered "client_max_window_bits" value does so "with a value equal to or smaller than the received value".',
    code: [code(NEGOTIATION, 'clientMaxWindowBits = Math.min(settings.clientMaxWindowBits, offeredClientBits ?? 15);')],
    tests: [NEGOTIATION_TABLE],
  },
  {
    id: '7692-7.1.2.2-client-obeys',
    rfc: 7692, section: '7.1.2.2', keyword: 'MUST NOT', roles: 'client',
    text: 'A client whose offer carried "client_max_window_bits" compresses with a window no larger than the value in the response (or in its own offer).',
    code: [code(NEGOTIATION, 'clientMaxWindowBits = Math.min(clientMaxWindowBits, bits);'), code(NEGOTIATION, 'localMaxWindowBits: server ? agreement.serverMaxWindowBits : agreement.clientMaxWindowBits,')],
    tests: [test(T_CLIENT_REQUEST, 'limits on our window and context')],
  },

  // ------------------------------------------------------------------ §7.2
  {
    id: '7692-7.2.1-strip-tail',
    rfc: 7692, section: '7.2.1', keyword: 'MUST', roles: 'both',
    text: 'Compressing: deflate the payload, end it with an empty stored block (sync flush), and remove the 4 octets 0x00 0x00 0xff 0xff from the tail.',
    code: [code(DEFLATE, 'finishFlush: zlib.Z_SYNC_FLUSH,', 1), code(DEFLATE, 'return compressed.subarray(0, compressed.length - 4);')],
    tests: [test(T_PMD, 'codec round trips against persistent zlib streams'), test(E_DEFLATE, 'messages compressed by ws are inflated by us, and ours by ws')],
  },
  {
    id: '7692-7.2.1-context-takeover',
    rfc: 7692, section: '7.2.1', keyword: 'MUST', roles: 'both',
    text: 'With context takeover, a message may refer back into earlier messages\' data, so the receiver keeps the window from message to message.',
    code: [code(DEFLATE, 'this.outgoingWindow?.append(payload);', 1), code(DEFLATE, 'this.incomingWindow?.append(output);')],
    tests: [test(T_PMD, 'context takeover really is used'), test(E_DEFLATE, 'client context takeover: a message that refers back into earlier ones is inflated with their window')],
  },
  {
    id: '7692-7.2.2-append-tail',
    rfc: 7692, section: '7.2.2', keyword: 'MUST', roles: 'both',
    text: 'Decompressing: append the 4 octets 0x00 0x00 0xff 0xff to the payload, then inflate.',
    code: [code(DEFLATE, 'SYNC_FLUSH_TAIL.copy(input, compressed.length);'), code(DEFLATE, 'inflater.end(SYNC_FLUSH_TAIL);')],
    tests: [test(E_DEFLATE, 'messages compressed by ws are inflated by us, and ours by ws'), test(T_PMD, 'codec round trips against persistent zlib streams')],
  },

  // ------------------------------------------------------------------ §8
  {
    id: '7692-8-secrets',
    rfc: 7692, section: '8', keyword: 'SHOULD', roles: 'both',
    text: '(Security considerations, paraphrased) Compression combined with attacker-chosen data can leak secrets sent on the same connection (CRIME/BREACH-style attacks): mixing secrets and untrusted data in compressed messages calls for care.',
    status: 'not-applicable',
    why: 'Which data may be compressed together is the application\'s call: it can disable perMessageDeflate, raise the threshold, or set serverNoContextTakeover. The decompression-bomb side is enforced (6455-10.4-inflated-size).',
  },
];
