#!/usr/bin/env node
/**
 * `npm run client -- ws://host:port/path`: a terminal WebSocket client.
 * Every line typed on stdin goes out as a text message; every message that
 * arrives is printed on stdout (text as is, binary as hex), so it also works
 * as a subscriber that prints whatever a server publishes:
 *
 *   npm run client -- ws://127.0.0.1:9001                   # talk to the echo server
 *   npm run client -- wss://example.com/feed --keep-open < /dev/null   # just listen
 *   echo hello | npx tsx src/client/cli.ts ws://127.0.0.1:9001
 *
 * Status lines (connected, closed) go to stderr, so stdout stays pipeable.
 * End of stdin closes the connection with 1000 (unless --keep-open), but not
 * at once: a server may stop sending when it receives our Close (§5.5.1
 * lets it), so replies still on their way would be lost, and with piped
 * input that is every reply. The client first waits until the server has
 * been quiet for --wait ms (default 500) after the end of input, or until
 * --replies N messages have arrived. Ctrl-C closes at once, a second Ctrl-C
 * drops the connection. Exit status: 0 after a normal
 * close, 1 if the connection failed or closed abnormally, 2 on a usage error.
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { CloseCode, describeCloseCode } from '../framing/close-codes.js';
import { connect } from './connect.js';
import type { ClientOptions } from './options.js';

const USAGE = `usage: wsrfc URL [options]        (in a clone of the repository: npm run client -- URL ...)

  URL                     ws://host[:port]/path or wss://...
  -p, --protocol NAME     offer a subprotocol (repeatable, in order of preference)
  -o, --origin ORIGIN     send an Origin header
  -H, --header 'N: V'     add a request header (repeatable)
      --deflate           offer permessage-deflate
      --ca FILE           trust this PEM certificate (a private CA, a self-signed server)
  -k, --insecure          do not verify the server's certificate (testing only)
      --http2             connect over HTTP/2 (RFC 8441 extended CONNECT) or fail
      --http2-auto        HTTP/2 if the server offers it (wss only), else HTTP/1.1
      --keep-open         stay connected after stdin ends, until the server closes
      --wait MS           at end of input, wait until the server has sent nothing
                          for MS ms before closing, so that its replies are not
                          lost (default 500; 0 closes at once)
      --replies N         at end of input, close as soon as N messages in all
                          have arrived (or after --wait ms of quiet, if sooner)
      --ping MS           send a keepalive ping every MS milliseconds
  -q, --quiet             no status lines on stderr
  -h, --help`;

/** `--help` prints the usage on stdout (so it pipes into a pager) and exits 0; a usage error prints it on stderr and exits 2. */
function usage(message?: string): never {
  if (message === undefined) {
    console.log(USAGE);
    process.exit(0);
  }
  console.error(`error: ${message}\n`);
  console.error(USAGE);
  process.exit(2);
}

let parsed;
try {
  parsed = parseArgs({
    allowPositionals: true,
    options: {
      protocol: { type: 'string', short: 'p', multiple: true },
      origin: { type: 'string', short: 'o' },
      header: { type: 'string', short: 'H', multiple: true },
      deflate: { type: 'boolean', default: false },
      ca: { type: 'string' },
      insecure: { type: 'boolean', short: 'k', default: false },
      http2: { type: 'boolean', default: false },
      'http2-auto': { type: 'boolean', default: false },
      'keep-open': { type: 'boolean', default: false },
      wait: { type: 'string', default: '500' },
      replies: { type: 'string' },
      ping: { type: 'string' },
      quiet: { type: 'boolean', short: 'q', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
} catch (error) {
  usage((error as Error).message);
}
const { values, positionals } = parsed;
if (values.help) usage();
if (positionals.length !== 1) usage(positionals.length === 0 ? 'a ws:// or wss:// URL is required' : 'exactly one URL, please');

const status = values.quiet ? (): void => {} : (line: string): void => console.error(`* ${line}`);

const headers: Record<string, string> = {};
for (const header of values.header ?? []) {
  const colon = header.indexOf(':');
  if (colon <= 0) usage(`--header takes "Name: value", got ${JSON.stringify(header)}`);
  headers[header.slice(0, colon).trim()] = header.slice(colon + 1).trim();
}
const pingInterval = values.ping === undefined ? 0 : Number(values.ping);
if (!(pingInterval >= 0)) usage('--ping takes a number of milliseconds');
const quietWait = Number(values.wait);
if (!(Number.isSafeInteger(quietWait) && quietWait >= 0)) usage('--wait takes a number of milliseconds');
const expectedReplies = values.replies === undefined ? Infinity : Number(values.replies);
if (!(expectedReplies === Infinity || (Number.isSafeInteger(expectedReplies) && expectedReplies >= 0))) usage('--replies takes a number of messages');

if (values.http2 && values['http2-auto']) usage('--http2 or --http2-auto, not both');

const options: ClientOptions = {
  http2: values.http2 ? true : values['http2-auto'] ? 'auto' : false,
  protocols: values.protocol,
  origin: values.origin,
  headers,
  pingInterval,
  perMessageDeflate: values.deflate,
  tls: {
    ...(values.ca !== undefined ? { ca: readFileSync(values.ca) } : {}),
    ...(values.insecure ? { rejectUnauthorized: false } : {}),
  },
};

let ws;
try {
  ws = await connect(positionals[0], options);
} catch (error) {
  const code = (error as { code?: unknown }).code;
  console.error(`connection failed${typeof code === 'string' ? ` (${code})` : ''}: ${(error as Error).message}`);
  process.exit(1);
}
const connection = ws;

status(`connected to ${connection.url}${connection.response.httpVersion === '2.0' ? ' over HTTP/2' : ''}${connection.protocol ? `, subprotocol ${connection.protocol}` : ''}${connection.extensions ? `, extensions: ${connection.extensions}` : ''}`);

/** Messages printed so far (--replies counts them). */
let received = 0;
/** Set once stdin has ended: closes the connection when the replies are in. */
let endOfInput: EndOfInput | null = null;

connection.on('message', (message) => {
  received++;
  if (typeof message === 'string') process.stdout.write(`${message}\n`);
  else process.stdout.write(`<binary ${message.length} bytes: ${message.subarray(0, 64).toString('hex')}${message.length > 64 ? '…' : ''}>\n`);
  endOfInput?.messageArrived();
});
connection.on('error', (error) => status(`error: ${error.message}`));

const input = createInterface({ input: process.stdin, terminal: false });
input.on('line', (line) => {
  if (connection.readyState !== 1) return;
  // Flow control: stop reading stdin while the socket cannot keep up.
  if (!connection.send(line)) {
    input.pause();
    connection.once('drain', () => input.resume());
  }
});
input.on('close', () => {
  if (values['keep-open'] || connection.readyState !== 1) return;
  endOfInput = new EndOfInput(quietWait, expectedReplies);
});

/**
 * Stdin has ended: close with 1000 once the replies are in, that is once
 * `expected` messages have arrived in all, or once the server has sent
 * nothing for `quietMs` (the clock restarts with every message).
 */
class EndOfInput {
  #timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly quietMs: number,
    private readonly expected: number,
  ) {
    if (this.#repliesIn()) return;
    if (quietMs > 0) status(`end of input: closing once the server has been quiet for ${quietMs} ms${expected === Infinity ? '' : ` or ${expected} messages have arrived`}`);
    this.#restartClock();
  }

  messageArrived(): void {
    if (!this.#repliesIn()) this.#restartClock();
  }

  #repliesIn(): boolean {
    if (received < this.expected) return false;
    this.#close(`${received} message${received === 1 ? '' : 's'} received`);
    return true;
  }

  #restartClock(): void {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      // Messages of ours still in the send buffer: the server cannot have
      // answered them yet, so its silence says nothing; wait on.
      if (this.quietMs > 0 && connection.bufferedAmount > 0) this.#restartClock();
      else this.#close(this.quietMs > 0 ? `quiet for ${this.quietMs} ms` : 'end of input');
    }, this.quietMs);
  }

  #close(why: string): void {
    clearTimeout(this.#timer);
    if (connection.readyState !== 1) return;
    status(`${why}: closing (1000)`);
    connection.close(CloseCode.NORMAL);
  }
}

let interrupted = false;
process.on('SIGINT', () => {
  if (interrupted) {
    connection.terminate();
    return;
  }
  interrupted = true;
  endOfInput = null;
  status('interrupted: closing (1000); Ctrl-C again to drop the connection');
  connection.close(CloseCode.NORMAL);
});

const { code, reason, wasClean } = await connection.closed;
status(`closed: ${describeCloseCode(code)}${reason ? ` ${JSON.stringify(reason)}` : ''}${wasClean ? '' : ' (not clean)'}`);
input.close();
const normal = code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY || code === CloseCode.NO_STATUS_RECEIVED;
process.exit(normal && wasClean ? 0 : 1);
