/**
 * The public surface, as the TypeScript compiler sees it.
 *
 * - Each entry point (`wsrfc` = src/index.ts, `wsrfc/sans-io` =
 *   src/sans-io.ts, `wsrfc/redis` = src/redis/index.ts, `wsrfc/nats` = src/nats/index.ts) exports exactly the names listed here: adding or dropping
 *   one is a decision, made in this file too.
 * - Every type a public signature of an entry point mentions is exported from
 *   that same entry point, so a user can name whatever the API hands them or
 *   asks of them. Members that are private, #private or tagged `@internal`
 *   (stripped from the .d.ts by tsconfig.build.json) are not public.
 * - test/types/connection-data.ts (how `ws.data` is typed) compiles: its
 *   `@ts-expect-error` lines do fail.
 * - docs/api.md's tables name every export of `wsrfc`, `wsrfc/redis` and
 *   `wsrfc/nats` (the sans-I/O table goes by group; TypeDoc lists it all).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SRC = join(REPO, 'src');
const APPLICATION_ENTRY = join(SRC, 'index.ts');
const SANS_IO_ENTRY = join(SRC, 'sans-io.ts');
const REDIS_ENTRY = join(SRC, 'redis', 'index.ts');
const NATS_ENTRY = join(SRC, 'nats', 'index.ts');
const DATA_TYPE_EXAMPLE = join(REPO, 'test', 'types', 'connection-data.ts');

/** `wsrfc/redis`: the Redis backplane and what its signature names. */
const REDIS_EXPORTS = ['redisBackplane', 'RedisBackplaneOptions', 'RedisBackplaneTarget', 'RedisClient', 'Backplane', 'BackplaneDelivery', 'Message'];
/** `wsrfc/nats`: the NATS backplane and what its signature names. */
const NATS_EXPORTS = ['natsBackplane', 'NatsBackplaneOptions', 'NatsBackplaneTarget', 'NatsConnection', 'Backplane', 'BackplaneDelivery', 'Message'];

const APPLICATION_EXPORTS = [
  // server
  'createServer', 'WebSocketServer', 'ServerEvents',
  'DEFAULT_SERVER_OPTIONS', 'ServerOptions', 'ConnectionHandler', 'HandshakeRequest', 'UpgradeVerdict',
  'BroadcastResult', 'SlowReceiverPolicy', 'MemoryBudget', 'serveStatic', 'StaticFilesOptions',
  // client
  'connect', 'ClientConnection', 'ClientHandshakeResult', 'DEFAULT_CLIENT_OPTIONS', 'ClientOptions', 'ClientTlsOptions', 'ClientDeflateOptions',
  // the connection
  'WebSocketConnection', 'Message', 'SendData', 'CloseInfo', 'ConnectionEvents', 'ConnectionRequest',
  // errors
  'WebSocketError', 'ProtocolError', 'InternalError', 'HandshakeError', 'LocalError', 'ConnectionClosedError', 'ConnectionFailure',
  'ClientHandshakeError', 'HandshakeErrorCode', 'WEBSOCKET_ERRORS', 'WebSocketErrorCode', 'ErrorCodeEntry', 'ErrorKind',
  // how a connection ended
  'CloseFrameInfo', 'CloseInitiator',
  // constants
  'ReadyState', 'CloseCode', 'describeCloseCode', 'DEFAULT_MESSAGE_LIMITS', 'MessageLimits',
  // types named by the signatures above
  'HttpHeaders', 'HttpHeadLimits', 'HttpResponseHead', 'UpgradeRequest', 'PerMessageDeflateOptions', 'FrameLogger', 'WireTap', 'MaskKeySource',
  // topics, streams, reconnecting
  'PublishOptions', 'PublishResult', 'Backplane', 'BackplaneDelivery', 'LocalTopicRegistry', 'MAX_TOPIC_BYTES', 'TopicRegistry', 'TopicListener', 'TopicDelivery',
  'runWorkers', 'RunWorkersOptions', 'WorkerPool', 'WorkerProcess', 'clusterBackplane', 'ClusterBackplaneOptions',
  'MessageStream', 'ReceiveOptions', 'SendOptions', 'SendStreamOptions', 'SendStreamSource', 'SendStreamChunk',
  'createWebSocketStream', 'WebSocketStreamOptions',
  'reconnecting', 'ReconnectingClient', 'ReconnectingOptions', 'ReconnectEnd', 'ReconnectRetry', 'ReconnectingEvents',
  'DEFAULT_RECONNECT_OPTIONS', 'endingCode', 'ReconnectOptions',
  // HTTP/2 and TLS for development
  'createSelfSignedCert', 'SelfSignedCert', 'SelfSignedCertOptions',
];

const SANS_IO_EXPORTS = [
  // protocol core
  'WebSocketProtocol', 'DEFAULT_TURN_BUDGET', 'ProtocolListener', 'ProtocolOptions',
  'ReadyState', 'DEFAULT_MESSAGE_LIMITS', 'MessageLimits', 'describeFrame', 'FrameLogger',
  // the closing handshake as one state (§7)
  'ClosePhase', 'TransportAction', 'ACTIVE_STATE', 'sendCloseFrame', 'receiveCloseFrame', 'failConnection', 'terminate',
  'transportActionFor', 'closeInfoOf', 'CloseState', 'CloseFrameInfo', 'CloseInitiator', 'CloseInfo',
  // frame codec
  'FrameParser', 'FrameSink', 'FrameParserOptions', 'encodeFrame', 'headerSize', 'writeFrameHeader', 'MAX_HEADER_BYTES',
  'FrameWriter', 'COPY_THRESHOLD', 'Opcode', 'isControlOpcode', 'opcodeName',
  'CloseCode', 'isValidWireCloseCode', 'describeCloseCode', 'parseClosePayload', 'buildClosePayload', 'MAX_CLOSE_REASON_BYTES', 'ClosePayload',
  'applyMask', 'randomMaskKey', 'MaskKeySource',
  // opening handshake pieces
  'HttpHeadParser', 'DEFAULT_HTTP_HEAD_LIMITS', 'HttpHeadLimits', 'HttpRequestHead', 'HttpResponseHead', 'HttpHeadKind', 'HttpHeadOf', 'HttpHeadResult',
  'HttpHeaders', 'parseUpgradeRequest', 'WEBSOCKET_VERSION', 'UpgradeRequest',
  'buildAcceptResponse', 'buildErrorResponse', 'rejectionFor', 'AcceptResponseOptions',
  'computeAcceptKey', 'generateClientKey', 'isValidClientKey', 'WEBSOCKET_GUID',
  'buildUpgradeRequest', 'UpgradeRequestSpec',
  'validateUpgradeResponse', 'ClientHandshakeError', 'UpgradeOffer', 'AcceptedUpgrade', 'HandshakeErrorCode',
  // the two opening handshakes as sans-I/O machines, the negotiation apart from HTTP/1.1
  'ServerHandshake', 'ServerHandshakeOptions', 'ServerHandshakeState', 'NeedMore', 'UpgradeRequested', 'PlainHttpRequest',
  'HandshakeRejected', 'HandshakeAccepted', 'HandshakeAbandoned', 'HandshakeOver', 'AcceptDecisions',
  'HandshakeRequest', 'UpgradeVerdict', 'negotiate', 'checkSelectedProtocol', 'checkRefusalStatus', 'negotiateExtensions', 'NegotiationPolicy', 'NegotiatedUpgrade',
  'ClientHandshake', 'MAX_REFUSAL_BODY', 'ClientHandshakeOptions', 'ClientHandshakeState', 'ClientHandshakeAccepted', 'ClientHandshakeRejected',
  'checkServerSelection', 'NegotiationOffer', 'ServerSelection', 'AcceptedSelection',
  // RFC 8441
  'parseExtendedConnect', 'buildExtendedConnectResponse', 'buildExtendedConnectRejection', 'Http2RequestHeaders', 'Http2ResponseHeaders', 'Http2Rejection',
  'sniffHttp2Preface', 'HTTP2_PREFACE', 'PrefaceVerdict', 'CONNECTION_SPECIFIC_FIELDS', 'isConnectionSpecificField',
  'buildExtendedConnectRequest', 'responseHeadOf', 'judgeExtendedConnectResponse', 'isExtendedConnectSuccess', 'refusalOf',
  'ExtendedConnectRequestSpec', 'ExtendedConnectRequestFields', 'ExtendedConnectResponseFields', 'ExtendedConnectOffer', 'ExtendedConnectAccepted',
  // UTF-8
  'Utf8Validator', 'isValidUtf8',
  // extensions
  'MessageExtension', 'ExtensionCallback', 'parseExtensionHeader', 'formatExtension', 'ExtensionOffer',
  'PerMessageDeflate', 'PERMESSAGE_DEFLATE', 'deflateBound', 'DeflateCodecConfig',
  'negotiateDeflate', 'deflateOffer', 'acceptDeflateResponse', 'deflateCodec', 'resolveDeflateOptions', 'DEFAULT_DEFLATE_OPTIONS',
  'DeflateAgreement', 'AcceptedDeflateOffer', 'DeflateSettings', 'PerMessageDeflateOptions',
  // errors
  'WebSocketError', 'ProtocolError', 'InternalError', 'HandshakeError', 'LocalError', 'ConnectionFailure',
  'WEBSOCKET_ERRORS', 'protocolError', 'WebSocketErrorCode', 'ProtocolErrorCode', 'ErrorCodeEntry', 'ErrorKind',
  // the reconnecting client's policy
  'retryAfterFailure', 'reconnectsAfterClose', 'endingCode', 'backoffDelay', 'parseRetryAfter', 'RECONNECT_CLOSE_CODES',
  'DEFAULT_RECONNECT_OPTIONS', 'FailureVerdict', 'ReconnectOptions',
];

const program = ts.createProgram({
  rootNames: [APPLICATION_ENTRY, SANS_IO_ENTRY, REDIS_ENTRY, NATS_ENTRY, DATA_TYPE_EXAMPLE],
  options: readCompilerOptions(),
});
const checker = program.getTypeChecker();

function readCompilerOptions(): ts.CompilerOptions {
  const configPath = join(REPO, 'tsconfig.json');
  const { config, error } = ts.readConfigFile(configPath, ts.sys.readFile);
  if (error) throw new Error(ts.flattenDiagnosticMessageText(error.messageText, '\n'));
  const parsed = ts.parseJsonConfigFileContent(config, ts.sys, REPO, undefined, configPath);
  return { ...parsed.options, noEmit: true };
}

function resolveAlias(symbol: ts.Symbol): ts.Symbol {
  return symbol.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(symbol) : symbol;
}

function exportsOf(entry: string): Map<string, ts.Symbol> {
  const source = program.getSourceFile(entry);
  assert.ok(source, `${entry} is part of the program`);
  const moduleSymbol = checker.getSymbolAtLocation(source);
  assert.ok(moduleSymbol, `${entry} is a module`);
  return new Map(checker.getExportsOfModule(moduleSymbol).map((symbol) => [symbol.name, symbol]));
}

/** Private, #private, or `@internal` (stripped from the published declarations). */
function isHidden(node: ts.Node): boolean {
  const modifiers = ts.canHaveModifiers(node) ? ts.getModifiers(node) : undefined;
  if (modifiers?.some((modifier) => modifier.kind === ts.SyntaxKind.PrivateKeyword)) return true;
  const name = (node as { name?: ts.Node }).name;
  if (name && ts.isPrivateIdentifier(name)) return true;
  return ts.getJSDocTags(node).some((tag) => tag.tagName.text === 'internal');
}

function isMember(node: ts.Node): boolean {
  return ts.isClassElement(node) || ts.isTypeElement(node);
}

/** The leftmost name of `A.B.C` (the thing that has to be importable). */
function leftmost(name: ts.EntityName | ts.Expression): ts.Node {
  if (ts.isQualifiedName(name)) return leftmost(name.left);
  if (ts.isPropertyAccessExpression(name)) return leftmost(name.expression);
  return name;
}

/**
 * Where the public part of `declaration` names a type (or `typeof` a value)
 * declared in src/: the node that names it and what it resolves to. Bodies,
 * initializers other than type assertions, `implements` clauses and hidden
 * members are not public signatures.
 */
function namedInSignature(declaration: ts.Declaration, owner: string): Array<{ where: string; symbol: ts.Symbol }> {
  const found: Array<{ where: string; symbol: ts.Symbol }> = [];
  const note = (nameNode: ts.Node, context: string): void => {
    const symbol = checker.getSymbolAtLocation(nameNode);
    if (!symbol) return;
    const target = resolveAlias(symbol);
    if (target.flags & ts.SymbolFlags.TypeParameter) return;
    const declared = target.declarations ?? [];
    if (!declared.some((d) => d.getSourceFile().fileName.startsWith(SRC))) return;
    found.push({ where: `${owner}${context}`, symbol: target });
  };
  const visit = (node: ts.Node, context: string): void => {
    if (node !== declaration && isMember(node) && isHidden(node)) return;
    if (ts.isBlock(node)) return;
    if (ts.isHeritageClause(node) && node.token === ts.SyntaxKind.ImplementsKeyword) return;
    if ((ts.isParameter(node) || ts.isPropertyDeclaration(node)) && node.initializer) {
      // Only the declared type is public, not the default value's expression.
      for (const child of [node.name, node.type]) if (child) visit(child, context);
      return;
    }
    if (isMember(node) && node !== declaration) {
      const name = (node as { name?: ts.Node }).name;
      if (name) context = `.${name.getText()}`;
      else if (ts.isConstructorDeclaration(node)) context = ' constructor';
    }
    if (ts.isTypeReferenceNode(node)) note(leftmost(node.typeName), context);
    else if (ts.isExpressionWithTypeArguments(node)) note(leftmost(node.expression), context);
    else if (ts.isTypeQueryNode(node)) note(leftmost(node.exprName), context);
    ts.forEachChild(node, (child) => visit(child, context));
  };
  visit(declaration, '');
  return found;
}

function unexportedTypes(entry: string): string[] {
  const exported = exportsOf(entry);
  const reachable = new Set([...exported.values()].map(resolveAlias));
  const missing = new Set<string>();
  for (const [name, symbol] of exported) {
    for (const declaration of resolveAlias(symbol).declarations ?? []) {
      if (!declaration.getSourceFile().fileName.startsWith(SRC)) continue;
      for (const { where, symbol: named } of namedInSignature(declaration, name)) {
        if (reachable.has(named)) continue;
        const file = relative(REPO, named.declarations![0].getSourceFile().fileName);
        missing.add(`${where} names ${named.name} (${file}), not exported`);
      }
    }
  }
  return [...missing].sort();
}

test('wsrfc (src/index.ts) exports exactly the application surface', () => {
  assert.deepEqual([...exportsOf(APPLICATION_ENTRY).keys()].sort(), [...APPLICATION_EXPORTS].sort());
});

test('wsrfc/sans-io (src/sans-io.ts) exports exactly the sans-I/O pieces', () => {
  assert.deepEqual([...exportsOf(SANS_IO_ENTRY).keys()].sort(), [...SANS_IO_EXPORTS].sort());
});

test('wsrfc/redis (src/redis/index.ts) exports exactly the Redis backplane', () => {
  assert.deepEqual([...exportsOf(REDIS_ENTRY).keys()].sort(), [...REDIS_EXPORTS].sort());
});

test('every type named by a public signature of wsrfc/redis is exported from wsrfc/redis', () => {
  assert.deepEqual(unexportedTypes(REDIS_ENTRY), []);
});

test('wsrfc/nats (src/nats/index.ts) exports exactly the NATS backplane', () => {
  assert.deepEqual([...exportsOf(NATS_ENTRY).keys()].sort(), [...NATS_EXPORTS].sort());
});

test('every type named by a public signature of wsrfc/nats is exported from wsrfc/nats', () => {
  assert.deepEqual(unexportedTypes(NATS_ENTRY), []);
});

test('every type named by a public signature of wsrfc is exported from wsrfc', () => {
  assert.deepEqual(unexportedTypes(APPLICATION_ENTRY), []);
});

test('every type named by a public signature of wsrfc/sans-io is exported from wsrfc/sans-io', () => {
  assert.deepEqual(unexportedTypes(SANS_IO_ENTRY), []);
});

test('the signature check notices an unexported type, and skips @internal members', () => {
  // Its own sanity. The shell's ConnectionOptions (not exported) names
  // MessageExtension, which wsrfc does not export: were it public, the check
  // would report it.
  const connectionFile = program.getSourceFile(join(SRC, 'connection', 'websocket-connection.ts'));
  assert.ok(connectionFile);
  const options = connectionFile.statements.find((s): s is ts.InterfaceDeclaration => ts.isInterfaceDeclaration(s) && s.name.text === 'ConnectionOptions');
  assert.ok(options, 'ConnectionOptions is declared in websocket-connection.ts');
  const namedByOptions = namedInSignature(options, 'ConnectionOptions').map((n) => n.symbol.name);
  assert.ok(namedByOptions.includes('MessageExtension'), `found ${namedByOptions.join(', ')}`);
  assert.ok(!exportsOf(APPLICATION_ENTRY).has('MessageExtension'));
  // The connection's constructor names ConnectionOptions and ConnectionHooks,
  // but it is tagged @internal (the library builds connections): not public.
  // What the declarations keep is a protected overload no call can satisfy.
  const connection = resolveAlias(exportsOf(APPLICATION_ENTRY).get('WebSocketConnection')!);
  const constructors = connection.declarations!.flatMap((d) => (ts.isClassDeclaration(d) ? d.members.filter(ts.isConstructorDeclaration) : []));
  assert.equal(constructors.length, 3, 'the public overload, the internal overload, the implementation');
  const shown = constructors.filter((c) => !isHidden(c));
  assert.equal(shown.length, 1, 'one constructor signature is not @internal');
  assert.ok(shown[0].modifiers?.some((m) => m.kind === ts.SyntaxKind.ProtectedKeyword), 'and it is protected');
  assert.ok(shown[0].parameters.every((p) => p.type?.kind === ts.SyntaxKind.NeverKeyword), 'and takes only never');
  const namedByConnection = connection.declarations!.flatMap((d) => namedInSignature(d, 'WebSocketConnection')).map((n) => n.symbol.name);
  assert.ok(!namedByConnection.includes('ConnectionOptions') && !namedByConnection.includes('ConnectionHooks'), `found ${namedByConnection.join(', ')}`);
});

test('ws.data is typed as possibly undefined: test/types/connection-data.ts compiles, its expected errors occur', () => {
  const source = program.getSourceFile(DATA_TYPE_EXAMPLE);
  assert.ok(source);
  const diagnostics = ts.getPreEmitDiagnostics(program, source).map((d) => `${d.start}: ${ts.flattenDiagnosticMessageText(d.messageText, ' ')}`);
  assert.deepEqual(diagnostics, []);
});

/** The text of docs/api.md from the heading that starts with `heading` to the next `## `. */
function apiSection(heading: string): string {
  const text = readFileSync(join(REPO, 'docs', 'api.md'), 'utf8');
  const start = text.indexOf(`\n${heading}`);
  assert.ok(start >= 0, `docs/api.md has a section ${heading}`);
  const end = text.indexOf('\n## ', start + 1);
  return text.slice(start, end < 0 ? undefined : end);
}

test('docs/api.md names every export of wsrfc, wsrfc/redis and wsrfc/nats', () => {
  const named = (section: string) => new Set([...section.matchAll(/`(\w+)`/g)].map((match) => match[1]));
  const application = named(apiSection('## `wsrfc`: for applications'));
  assert.deepEqual(APPLICATION_EXPORTS.filter((name) => !application.has(name)), [], 'wsrfc exports missing from docs/api.md');
  const brokers = named(apiSection('## `wsrfc/redis` and `wsrfc/nats`'));
  assert.deepEqual([...REDIS_EXPORTS, ...NATS_EXPORTS].filter((name) => !brokers.has(name)), [], 'wsrfc/redis and wsrfc/nats exports missing from docs/api.md');
});
