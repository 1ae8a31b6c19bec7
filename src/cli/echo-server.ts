/**
 * The echo server (text back as text, binary as binary), the target for the
 * Autobahn|Testsuite fuzzingclient (see fuzzing/).
 *
 *   npm start -- --port 9001 --host 127.0.0.1 [--deflate]
 *   node --import tsx src/cli/echo-server.ts --port 9001   (under a process manager or in a container)
 *
 * `--port 0` takes a free port; the line `echo server listening on
 * ws://HOST:PORT` always shows the one bound.
 *
 * Stopping: SIGTERM or SIGINT stops accepting, closes every client with 1001
 * (Going Away), waits for them (at most closeTimeout per step of each closing
 * handshake) and exits 0. A second signal, a second or more after the first,
 * exits at once with 128 + its number.
 * The signal must reach this process: the direct node command above has this
 * process's PID; `npm start` runs it with `exec`, so npm's shell gives way to
 * it and the SIGTERM or SIGINT npm passes on to its child lands here.
 *
 * Every core: `npm start -- --workers N` (`--workers` alone: one per core)
 * runs N node:cluster workers sharing the port through runWorkers()
 * (src/cluster/workers.ts); this process is then their primary, still the
 * PID npm started. SIGTERM or SIGINT to it closes every client with 1012
 * (Service Restart) and exits 0 once every worker is gone; SIGHUP replaces
 * the workers one at a time (a rolling restart).
 *
 * Over HTTP/2: `npm start -- --http2 [--cert FILE --key FILE]` serves wss://
 * with TLS, ALPN offering `h2` and `http/1.1` on the one port: a client that
 * picks h2 opens its WebSockets as extended CONNECT streams (RFC 8441), one
 * that picks http/1.1 upgrades as usual. Without --cert/--key a self-signed
 * certificate for localhost and 127.0.0.1 is made at start
 * (src/tls/self-signed-cert.ts); its SHA-256 fingerprint is printed, and how
 * to make Chromium and curl accept it. The echo page
 * (examples/echo/public/) is served at / so that a browser loads it over
 * HTTP/2 first: Chromium opens a WebSocket over RFC 8441 only on an HTTP/2
 * connection it already has to that origin. `--cert FILE --key FILE` without
 * `--http2` serves wss:// over HTTP/1.1 alone.
 */
import cluster from 'node:cluster';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { constants } from 'node:os';
import { parseArgs } from 'node:util';
import { createServer, serveStatic, type Backplane } from '../index.js';
import { runWorkers } from '../cluster/workers.js';
import { createSelfSignedCert, spkiSha256Of, type SelfSignedCert } from '../tls/self-signed-cert.js';

/**
 * A repeat of the stop signal this soon after the first is the same request
 * delivered twice, not a second one: Ctrl-C under `npm start` reaches this
 * process from the terminal (which signals the whole process group) and again
 * from npm (which passes it on to its child), a few milliseconds apart.
 */
const REPEAT_WINDOW_MS = 1_000;

const USAGE = `usage: npm start -- [--port 9001] [--host 127.0.0.1] [--deflate] [--workers [N]] [--http2] [--cert FILE --key FILE]
       node --import tsx src/cli/echo-server.ts [the same options]
  --http2              TLS with ALPN h2 and http/1.1 on one port (RFC 8441 WebSockets over HTTP/2);
                       a self-signed certificate is made at start unless --cert and --key are given
  --cert F --key F     PEM certificate (chain) and private key for TLS`;

/** How long the certificate made at start stays valid: days, so a long-running dev server keeps working. */
const SELF_SIGNED_DAYS = 30;
/**
 * The certificate a --workers primary made, handed to its workers (node:cluster
 * forks them with the primary's environment), so every worker serves the same one.
 */
const WORKER_CERT_ENV = 'WSRFC_ECHO_SELF_SIGNED';

// `--workers` with no number (last, or followed by another option) means one per core.
const argv = process.argv.slice(2);
const workersAt = argv.indexOf('--workers');
if (workersAt !== -1 && (workersAt === argv.length - 1 || argv[workersAt + 1]!.startsWith('--'))) argv.splice(workersAt + 1, 0, 'auto');

const { values } = parseArgs({
  args: argv,
  options: {
    workers: { type: 'string' },
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
    deflate: { type: 'boolean', default: false },
    http2: { type: 'boolean', default: false },
    cert: { type: 'string' },
    key: { type: 'string' },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log(USAGE);
  process.exit(0);
}

const port = Number(values.port);
if (!/^\d+$/.test(values.port) || port > 65_535) {
  console.error(`--port must be 0 (any free port) to 65535, not ${JSON.stringify(values.port)}\n${USAGE}`);
  process.exit(2);
}

if (values.workers !== undefined && values.workers !== 'auto' && !/^[1-9]\d*$/.test(values.workers)) {
  console.error(`--workers must be a positive integer (or nothing: one per core), not ${JSON.stringify(values.workers)}\n${USAGE}`);
  process.exit(2);
}

if ((values.cert === undefined) !== (values.key === undefined)) {
  console.error(`--cert and --key go together (the certificate and its private key)\n${USAGE}`);
  process.exit(2);
}

/** TLS, when asked for: the key and certificate, and what to print about them. */
interface TlsSetup {
  key: string;
  cert: string;
  /** The host name the URL shows: one the certificate names. */
  urlHost: string;
  /** Where the certificate came from, for people. */
  about: string;
  fingerprint256: string;
  spkiSha256: string;
}

function tlsSetup(): TlsSetup | null {
  if (!values.http2 && values.cert === undefined) return null;
  if (values.cert !== undefined && values.key !== undefined) {
    let key: string;
    let cert: string;
    let certificate: X509Certificate;
    try {
      key = readFileSync(values.key, 'utf8');
      cert = readFileSync(values.cert, 'utf8');
      certificate = new X509Certificate(cert);
    } catch (error) {
      console.error(`cannot use --cert ${values.cert} --key ${values.key}: ${(error as Error).message}`);
      process.exit(2);
    }
    const dnsName = /(?:^|, )DNS:([^,]+)/.exec(certificate.subjectAltName ?? '')?.[1];
    return {
      key,
      cert,
      urlHost: dnsName && !dnsName.includes('*') ? dnsName : shown(values.host),
      about: `${values.cert} (${certificate.subject.replace(/\n/g, ', ')}), valid until ${certificate.validTo}`,
      fingerprint256: certificate.fingerprint256,
      spkiSha256: spkiSha256Of(certificate),
    };
  }
  // One certificate for the whole process tree: a worker takes its primary's, through the
  // environment node:cluster forks it with (a throwaway development key, made for this run).
  const handed = process.env[WORKER_CERT_ENV];
  const made = handed ? (JSON.parse(handed) as SelfSignedCert) : createSelfSignedCert({ validDays: SELF_SIGNED_DAYS });
  if (!handed && values.workers !== undefined && cluster.isPrimary) process.env[WORKER_CERT_ENV] = JSON.stringify(made);
  return {
    ...made,
    urlHost: 'localhost',
    about: `self-signed for localhost and 127.0.0.1, made at start, valid until ${new X509Certificate(made.cert).validTo}`,
  };
}

/** How `host` is written in a URL (an IPv6 address in brackets). */
function shown(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

const tls = tlsSetup();

/** The URL clients connect to, and the listening line's text after `echo server listening on`. */
function listeningOn(host: string, boundPort: number): { url: string; line: string } {
  const loopback = host === '127.0.0.1' || host === 'localhost' || host === '[::1]';
  const url = tls ? `wss://${loopback ? tls.urlHost : host}:${boundPort}` : `ws://${host}:${boundPort}`;
  const carriers = values.http2 ? ' (TLS; HTTP/2 (RFC 8441) and HTTP/1.1 on one port)' : tls ? ' (TLS; HTTP/1.1)' : '';
  return { url, line: `${url}${carriers}${values.deflate ? ' (permessage-deflate on)' : ''}` };
}

/** The lines after the listening line: the certificate, and how to point a browser and curl at it. */
function tlsLines(url: string): string[] {
  if (!tls) return [];
  const page = `${url.replace(/^wss:/, 'https:')}/`;
  return [
    `certificate: ${tls.about}`,
    `  SHA-256 fingerprint ${tls.fingerprint256}`,
    `  public key (SPKI) SHA-256, base64: ${tls.spkiSha256}`,
    // Chromium honours the SPKI list only with --user-data-dir (a throwaway profile, not yours).
    `try it: chromium --user-data-dir=$(mktemp -d) --ignore-certificate-errors-spki-list=${tls.spkiSha256} ${page}`,
    values.http2
      ? `          (the echo page, loaded over HTTP/2; its WebSocket then opens as an extended CONNECT stream on that connection)`
      : `          (the echo page; its WebSocket upgrades over HTTP/1.1)`,
    values.http2
      ? `        curl --http2 -k -v ${page}   (ALPN h2 and the page; curl's own WebSocket support is HTTP/1.1 only)`
      : `        curl -k -v ${page}`,
  ];
}

/** The echo page, served over TLS so that a browser has an HTTP/2 connection to open its WebSocket on. */
const ECHO_PAGE = new URL('../../examples/echo/public/', import.meta.url);

function echoServer(backplane?: Backplane) {
  const transport = tls ? { tls: { key: tls.key, cert: tls.cert }, http: serveStatic(ECHO_PAGE), ...(values.http2 ? { http2: true } : {}) } : {};
  return createServer({ perMessageDeflate: values.deflate, ...transport, ...(backplane ? { backplane } : {}) }, (connection) => {
    connection.on('message', (message) => {
      connection.send(message);
    });
  });
}

if (values.workers !== undefined) {
  const pool = await runWorkers({
    ...(values.workers === 'auto' ? {} : { workers: Number(values.workers) }),
    setup: async (backplane) => {
      const server = echoServer(backplane);
      await server.listen(port, values.host);
      return server;
    },
  });
  if (pool.role === 'primary') {
    const boundPort = await pool.ready;
    const { url, line } = listeningOn(shown(values.host), boundPort);
    console.log([`echo server listening on ${line} (${pool.workers.size} workers)`, ...tlsLines(url)].join('\n'));
    process.on('SIGTERM', () => console.log('SIGTERM: closing connections (1012)...'));
  }
} else {
  await serveOneProcess();
}

async function serveOneProcess(): Promise<void> {
  const server = echoServer();

  // The handlers are installed before listen() starts, so a signal that
  // arrives while it runs stops the server too (once it is listening) instead
  // of killing the process the default way.
  let listening: Promise<unknown> = Promise.resolve();
  let stopRequestedAt: number | null = null;
  function onStopSignal(signal: 'SIGINT' | 'SIGTERM'): void {
    if (stopRequestedAt !== null) {
      if (Date.now() - stopRequestedAt < REPEAT_WINDOW_MS) return;
      console.error(`${signal} again: exiting without waiting for clients`);
      process.exit(128 + constants.signals[signal]);
    }
    stopRequestedAt = Date.now();
    console.log(`${signal}: closing connections (1001)...`);
    // A failed listen() is reported where it is awaited, below.
    void listening
      .then(() => server.close())
      .then(
        () => process.stdout.write('every connection closed, exiting\n', () => process.exit(0)),
        () => undefined,
      );
  }
  process.on('SIGINT', onStopSignal);
  process.on('SIGTERM', onStopSignal);

  const listened = server.listen(port, values.host);
  listening = listened;
  const address = await listened;
  const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const { url, line } = listeningOn(shownHost, address.port);
  console.log([`echo server listening on ${line}`, ...tlsLines(url)].join('\n'));
}
