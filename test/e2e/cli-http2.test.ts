/**
 * `npm start -- --http2` (src/cli/echo-server.ts): the echo server over TLS,
 * ALPN offering h2 and http/1.1 on one port, with a certificate made at start.
 *
 * The server runs as a child process on a free port (`--port 0`) and prints
 * its URL and the certificate's fingerprints. This test checks that the
 * certificate served is the one printed (both fingerprints), then trusts
 * exactly that certificate (`ca`) for everything else:
 * - over HTTP/2, a raw node:http2 client written here: the server's SETTINGS
 *   advertise SETTINGS_ENABLE_CONNECT_PROTOCOL (RFC 8441 §3), an extended
 *   CONNECT (RFC 8441 §4) gets 200 (§5), and hand-built masked frames on the
 *   stream come back echoed and unmasked; the echo page over a plain GET;
 * - over HTTP/2 and over HTTP/1.1 on the same port, the library's own client
 *   (`http2: true`; ALPN http/1.1);
 * and that SIGTERM still ends it with exit 0.
 */
import assert from 'node:assert/strict';
import { createHash, type X509Certificate } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import http2 from 'node:http2';
import tls from 'node:tls';
import { after, before, describe, it } from 'node:test';

import { connect } from '../../src/index.js';
import { createSelfSignedCert } from '../../src/tls/self-signed-cert.js';
import { binary, close, OP, parseServerFrames, seededBytes, text, type DecodedFrame } from '../helpers/frames.js';
import { withTimeout } from '../helpers/raw-client.js';
import { killSpawnedGroups, spawnInGroup, waitForOutput, type SpawnedProcess } from '../helpers/spawned-process.js';

const SERVER = [process.execPath, '--import', 'tsx', 'src/cli/echo-server.ts', '--port', '0', '--host', '127.0.0.1'];

/** An echo server child with `args`, in its own process group. */
const start = (args: string[]): SpawnedProcess => spawnInGroup([...SERVER, ...args]);

// Whatever is left of a server's group, if a test failed before SIGTERM.
after(killSpawnedGroups);

/** What the server printed: its port and the certificate's two fingerprints. */
async function printed(server: SpawnedProcess): Promise<{ port: number; fingerprint: string; spki: string }> {
  const port = Number((await waitForOutput(server, /echo server listening on wss:\/\/localhost:(\d+) /, 20_000))[1]);
  const [, spki] = await waitForOutput(server, /--ignore-certificate-errors-spki-list=(\S+) https:\/\/localhost:\d+\//, 20_000);
  const [, fingerprint] = await waitForOutput(server, /SHA-256 fingerprint ([0-9A-F:]{95})/, 20_000);
  return { port, fingerprint, spki };
}

/** The certificate served on `port`, taken without trusting it, and what ALPN chose when h2 and http/1.1 were offered. */
async function peerCertificate(port: number): Promise<{ certificate: X509Certificate; alpn: string | false | null }> {
  const socket = tls.connect({ host: '127.0.0.1', port, servername: 'localhost', ALPNProtocols: ['h2', 'http/1.1'], rejectUnauthorized: false });
  try {
    await withTimeout(once(socket, 'secureConnect'), 10_000, 'the TLS handshake');
    return { certificate: socket.getPeerX509Certificate()!, alpn: socket.alpnProtocol };
  } finally {
    socket.destroy();
  }
}

const spkiOf = (certificate: X509Certificate): string => createHash('sha256').update(certificate.publicKey.export({ type: 'spki', format: 'der' })).digest('base64');

async function stop(server: SpawnedProcess): Promise<void> {
  process.kill(server.child.pid!, 'SIGTERM');
  assert.deepEqual(await withTimeout(server.exited, 15_000, 'the server exiting'), { code: 0, signal: null }, server.output());
}

let server: SpawnedProcess;
let port: number;
let printedFingerprint: string;
let printedSpki: string;
/** The certificate the server presented, and the protocol ALPN chose when h2 and http/1.1 were offered. */
let served: X509Certificate;
let alpnChosen: string | false | null;
/** `served` as PEM: what every client below trusts, and nothing else. */
let ca: string;

before(async () => {
  server = start(['--http2']);
  ({ port, fingerprint: printedFingerprint, spki: printedSpki } = await printed(server));
  ({ certificate: served, alpn: alpnChosen } = await peerCertificate(port));
  ca = served.toString();
});

/** A client's frames to the server, as bytes; what comes back, parsed (and checked unmasked). */
function frameReader(stream: NodeJS.ReadableStream): () => Promise<DecodedFrame> {
  let buffered = Buffer.alloc(0);
  const frames: DecodedFrame[] = [];
  let wake: (() => void) | null = null;
  stream.on('data', (chunk: Buffer) => {
    const { frames: complete, rest } = parseServerFrames(Buffer.concat([buffered, chunk]));
    buffered = Buffer.from(rest);
    frames.push(...complete);
    wake?.();
  });
  return async () => {
    while (frames.length === 0) await new Promise<void>((resolve) => (wake = resolve));
    return frames.shift()!;
  };
}

describe('npm start -- --http2', { timeout: 60_000 }, () => {
  it('prints a wss:// URL, the certificate it serves and how to try it', async () => {
    assert.match(server.output(), /\(TLS; HTTP\/2 \(RFC 8441\) and HTTP\/1\.1 on one port\)/);
    assert.match(server.output(), /certificate: self-signed for localhost and 127\.0\.0\.1, made at start/);
    assert.match(server.output(), /curl --http2 -k -v https:\/\/localhost:\d+\//);
    assert.equal(alpnChosen, 'h2', 'offered h2 and http/1.1, the server picks h2');
    assert.equal(served.fingerprint256, printedFingerprint, 'the fingerprint printed is the certificate served');
    assert.equal(spkiOf(served), printedSpki, 'the SPKI hash for Chromium is the served key');
    assert.equal(served.checkHost('localhost'), 'localhost');
  });

  it('over HTTP/2: extended CONNECT gets 200 and the stream echoes text and binary frames (RFC 8441 §4-5)', async () => {
    const session = http2.connect(`https://localhost:${port}`, { ca });
    try {
      const [settings] = (await withTimeout(once(session, 'remoteSettings'), 10_000, "the server's SETTINGS")) as [http2.Settings];
      // RFC 8441 §3: "SETTINGS_ENABLE_CONNECT_PROTOCOL (0x8) ... A sender MUST NOT send a SETTINGS_ENABLE_CONNECT_PROTOCOL
      // parameter with the value of 0 after previously sending a value of 1."
      assert.equal(settings.enableConnectProtocol, true, 'the server advertises extended CONNECT');
      assert.equal((session.socket as tls.TLSSocket).alpnProtocol, 'h2');

      const stream = session.request(
        {
          ':method': 'CONNECT',
          ':protocol': 'websocket',
          ':scheme': 'https',
          ':path': '/',
          ':authority': `localhost:${port}`,
          'sec-websocket-version': '13',
        },
        { endStream: false },
      );
      const [headers] = (await withTimeout(once(stream, 'response'), 10_000, 'the answer to CONNECT')) as [http2.IncomingHttpHeaders];
      // RFC 8441 §5: "a 2xx status code indicates success" (not 101: there is no upgrade on HTTP/2).
      assert.equal(headers[':status'], 200);
      assert.equal(headers['sec-websocket-accept'], undefined, 'no Sec-WebSocket-Accept over HTTP/2 (RFC 8441 §5)');

      const next = frameReader(stream);
      stream.write(text('hello over h2'));
      const echoedText = await withTimeout(next(), 5_000, 'the echoed text');
      assert.equal(echoedText.opcode, OP.TEXT);
      assert.equal(echoedText.payload.toString('utf8'), 'hello over h2');

      const payload = seededBytes(100_000, 14);
      stream.write(binary(payload));
      const echoedBinary = await withTimeout(next(), 5_000, 'the echoed binary');
      assert.equal(echoedBinary.opcode, OP.BINARY);
      assert.ok(echoedBinary.payload.equals(payload), 'the binary message comes back byte for byte');

      // The closing handshake ends the stream, not the connection other streams share (RFC 8441 §6).
      stream.write(close(1000, 'done'));
      const closing = await withTimeout(next(), 5_000, "the server's close frame");
      assert.equal(closing.opcode, OP.CLOSE);
      assert.equal(closing.payload.readUInt16BE(0), 1000);
      stream.end();
      await withTimeout(once(stream, 'close'), 5_000, 'the stream closing');
      assert.equal(session.closed || session.destroyed, false, 'the HTTP/2 connection stays open after one WebSocket closed');

      // The same session still carries requests: the echo page, over HTTP/2.
      const page = session.request({ ':method': 'GET', ':path': '/', ':authority': `localhost:${port}` });
      const [pageHeaders] = (await withTimeout(once(page, 'response'), 5_000, 'the page')) as [http2.IncomingHttpHeaders];
      let body = '';
      page.setEncoding('utf8').on('data', (chunk: string) => (body += chunk));
      await once(page, 'end');
      assert.equal(pageHeaders[':status'], 200);
      assert.match(String(pageHeaders['content-type']), /^text\/html/);
      assert.match(body, /new WebSocket\(/);
    } finally {
      session.close();
    }
  });

  it("over HTTP/2 with the library's own client: connect(url, { http2: true }) echoes", async () => {
    // http2: true rejects (HS_ERR_H2_NOT_NEGOTIATED) unless ALPN chose h2 and the server enabled extended CONNECT.
    const client = await connect(`wss://localhost:${port}/`, { http2: true, tls: { ca } });
    const echoed = new Promise((resolve) => client.once('message', resolve));
    client.send('hello from connect() over HTTP/2');
    assert.equal(await withTimeout(echoed, 5_000, 'the echo'), 'hello from connect() over HTTP/2');
    client.close(1000);
    assert.equal((await withTimeout(client.closed, 5_000, 'the close')).code, 1000);
  });

  it('over HTTP/1.1 on the same port: the library client upgrades and echoes', async () => {
    const client = await connect(`wss://localhost:${port}/`, { tls: { ca, ALPNProtocols: ['http/1.1'] } });
    const echoed = new Promise((resolve) => client.once('message', resolve));
    client.send('hello over HTTP/1.1');
    assert.equal(await withTimeout(echoed, 5_000, 'the echo'), 'hello over HTTP/1.1');
    client.close(1000);
    assert.equal((await withTimeout(client.closed, 5_000, 'the close')).code, 1000);
  });

  it('SIGTERM stops it: exit 0', async () => {
    await stop(server);
  });
});

describe('npm start -- --http2, with a certificate of its own or with workers', { timeout: 60_000 }, () => {
  it('--cert and --key: serves that certificate and prints its fingerprints', async (t) => {
    const folder = mkdtempSync(join(tmpdir(), 'wsrfc-cli-cert-'));
    t.after(() => rmSync(folder, { recursive: true, force: true }));
    const own = createSelfSignedCert({ validDays: 2 });
    writeFileSync(join(folder, 'cert.pem'), own.cert);
    writeFileSync(join(folder, 'key.pem'), own.key);
    const withCert = start(['--http2', '--cert', join(folder, 'cert.pem'), '--key', join(folder, 'key.pem')]);
    const shown = await printed(withCert);
    assert.equal(shown.fingerprint, own.fingerprint256);
    assert.equal(shown.spki, own.spkiSha256);
    assert.match(withCert.output(), /certificate: \S+cert\.pem \(CN=localhost\)/);
    const { certificate } = await peerCertificate(shown.port);
    assert.equal(certificate.fingerprint256, own.fingerprint256, 'the certificate given is the one served');
    await stop(withCert);
  });

  it('--cert without --key: a usage error, exit 2', async () => {
    const wrong = start(['--http2', '--cert', 'cert.pem']);
    assert.deepEqual(await withTimeout(wrong.exited, 15_000, 'the server exiting'), { code: 2, signal: null });
    assert.match(wrong.output(), /--cert and --key go together/);
  });

  it('--workers 2: every worker serves the one certificate the primary made and printed', async () => {
    const pool = start(['--http2', '--workers', '2']);
    const shown = await printed(pool);
    assert.match(pool.output(), /\(2 workers\)/);
    const fingerprints = new Set<string>();
    for (let i = 0; i < 8; i++) fingerprints.add((await peerCertificate(shown.port)).certificate.fingerprint256);
    assert.deepEqual([...fingerprints], [shown.fingerprint]);
    await stop(pool);
  });
});
