/**
 * The examples/ servers, over real sockets: each one's behaviour (imported
 * and started on port 0), and each npm script started the way a newcomer
 * would (`npm run example:… -- --port 0`), answering, then shutting down
 * cleanly on SIGTERM.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { setTimeout as delay } from 'node:timers/promises';
import WebSocket from 'ws';
import { createEchoServer } from '../../examples/echo/server.js';
import { createChatServer } from '../../examples/chat/server.js';
import { createHub } from '../../examples/pubsub/hub.js';
import { createFileServer } from '../../examples/file-server/server.js';
import { createForAwaitServer } from '../../examples/for-await/server.js';
import { createFrameInspector, type Report } from '../../examples/frame-inspector/server.js';
import { FrameReader } from '../../examples/frame-inspector/frame-reader.js';
import { stopProcessGroup } from '../helpers/spawned-process.js';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

interface Listening {
  listen(port?: number, host?: string): Promise<{ port: number }>;
  close(): Promise<void>;
  on(event: 'error', listener: (error: unknown) => void): unknown;
}

async function serve(server: Listening): Promise<{ http: string; ws: string }> {
  server.on('error', () => {});
  const { port } = await server.listen(0, '127.0.0.1');
  return { http: `http://127.0.0.1:${port}`, ws: `ws://127.0.0.1:${port}` };
}

/** A ws client with an inbox: `next()` resolves with the next message (text, or `binary:<n>`). */
interface Client {
  ws: WebSocket;
  next(): Promise<string>;
  closed: Promise<{ code: number; reason: string }>;
}

async function client(url: string, protocols?: string | string[], options?: WebSocket.ClientOptions): Promise<Client> {
  const ws = new WebSocket(url, protocols, options);
  const inbox: string[] = [];
  const waiting: Array<(message: string) => void> = [];
  ws.on('message', (data, isBinary) => {
    const message = isBinary ? `binary:${(data as Buffer).length}` : data.toString();
    const waiter = waiting.shift();
    if (waiter) waiter(message);
    else inbox.push(message);
  });
  const closed = new Promise<{ code: number; reason: string }>((resolve) => ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
  await once(ws, 'open');
  return {
    ws,
    closed,
    next: () => (inbox.length > 0 ? Promise.resolve(inbox.shift()!) : new Promise((resolve) => waiting.push(resolve))),
  };
}

async function waitForSubscribers(server: { topics: { subscribers(topic: string): ReadonlySet<unknown> } }, topic: string, count: number): Promise<void> {
  for (let i = 0; server.topics.subscribers(topic).size !== count; i++) {
    assert.ok(i < 500, `${count} subscribers of ${topic}`);
    await delay(10);
  }
}

// ─── 1. echo ────────────────────────────────────────────────────────────────

test('echo: the page over HTTP, and text and binary echoed on the same port', async (t) => {
  const server = createEchoServer();
  const url = await serve(server);
  t.after(() => server.close());
  const page = await fetch(`${url.http}/`);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await page.text(), /new WebSocket\(url\)/);
  const c = await client(`${url.ws}/`);
  c.ws.send('héllo 👋');
  assert.equal(await c.next(), 'héllo 👋');
  c.ws.send(Buffer.alloc(1 << 20, 3));
  assert.equal(await c.next(), `binary:${1 << 20}`);
  c.ws.close();
});

// ─── 2. chat ────────────────────────────────────────────────────────────────

test('chat: joins and leaves are announced, messages go to everyone else, names are unique', async (t) => {
  const server = createChatServer();
  const url = await serve(server);
  t.after(() => server.close());
  assert.equal((await fetch(`${url.http}/`)).status, 200);

  const ada = await client(`${url.ws}/chat?name=ada`);
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'welcome', name: 'ada', present: [] });
  const bob = await client(`${url.ws}/chat?name=bob`);
  assert.deepEqual(JSON.parse(await bob.next()), { type: 'welcome', name: 'bob', present: ['ada'] });
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'joined', name: 'bob' });
  const ada2 = await client(`${url.ws}/chat?name=ada`);
  assert.deepEqual(JSON.parse(await ada2.next()), { type: 'welcome', name: 'ada-2', present: ['ada', 'bob'] });
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'joined', name: 'ada-2' });
  assert.deepEqual(JSON.parse(await bob.next()), { type: 'joined', name: 'ada-2' });

  bob.ws.send('ça va? 你好');
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'message', name: 'bob', text: 'ça va? 你好' });
  assert.deepEqual(JSON.parse(await ada2.next()), { type: 'message', name: 'bob', text: 'ça va? 你好' });

  ada2.ws.close();
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'left', name: 'ada-2' });
  assert.deepEqual(JSON.parse(await bob.next()), { type: 'left', name: 'ada-2' });

  // The author never gets its own message back, and binary is refused with 1003.
  bob.ws.send(Buffer.from([1, 2, 3]));
  assert.deepEqual(await bob.closed, { code: 1003, reason: 'this chat takes text only' });
  assert.deepEqual(JSON.parse(await ada.next()), { type: 'left', name: 'bob' });
  const guest = await client(`${url.ws}/chat`);
  assert.deepEqual(JSON.parse(await guest.next()), { type: 'welcome', name: 'guest', present: ['ada'] });
  assert.equal(JSON.parse(await ada.next()).name, 'guest');
  ada.ws.close();
  guest.ws.close();
});

// ─── 3. pub/sub ─────────────────────────────────────────────────────────────

test('pub/sub: a topic per path; POST /publish/<topic> and GET /notify reach that topic\'s subscribers only, the terminal subscriber script included', async (t) => {
  const server = createHub();
  const url = await serve(server);
  t.after(() => server.close());
  const terminal = startScript('example:subscribe', [`${url.ws}/ws/news`]);
  t.after(() => terminal.stop());
  await terminal.waitFor(/subscribed to news at ws:\/\/127\.0\.0\.1:\d+\/ws\/news/);
  const browserLike = await client(`${url.ws}/ws/news`);
  const sport = await client(`${url.ws}/ws?topic=sport&topic=news`);
  const general = await client(`${url.ws}/ws`);
  await waitForSubscribers(server, 'news', 3);

  const posted = await fetch(`${url.http}/publish/news`, { method: 'POST', body: 'héllo wörld & more' });
  assert.equal(posted.status, 200);
  assert.equal(await posted.text(), 'delivered to 3 subscribers of news\n');
  assert.equal(await browserLike.next(), 'héllo wörld & more');
  assert.equal(await sport.next(), 'héllo wörld & more');
  await terminal.waitFor(/^message: héllo wörld & more$/m);

  const notified = await fetch(`${url.http}/notify?topic=sport&msg=${encodeURIComponent('goal!')}`);
  assert.equal(await notified.text(), 'delivered to 1 subscriber of sport\n');
  assert.equal(await sport.next(), 'goal!');
  assert.equal(await (await fetch(`${url.http}/notify?msg=hi`)).text(), 'delivered to 1 subscriber of general\n', 'no topic: general');
  assert.equal(await general.next(), 'hi');
  assert.equal(await (await fetch(`${url.http}/publish/nobody`, { method: 'POST', body: 'x' })).text(), 'delivered to 0 subscribers of nobody\n');

  assert.equal((await fetch(`${url.http}/notify`)).status, 404, 'no msg parameter');
  assert.equal((await fetch(`${url.http}/other`)).status, 404);
  assert.equal((await fetch(`${url.http}/publish/news`)).status, 404, 'publishing is a POST');
  assert.equal((await fetch(`${url.http}/publish/${'x'.repeat(257)}`, { method: 'POST', body: 'x' })).status, 400, 'topic too long');
  assert.equal((await fetch(`${url.http}/publish/news`, { method: 'POST', body: Buffer.alloc(64 * 1024 + 1) })).status, 413);
  for (const [path, status] of [['/elsewhere', 404], [`/ws/${'x'.repeat(257)}`, 400]] as const) {
    const refused = new WebSocket(`${url.ws}${path}`);
    refused.on('error', () => {});
    const [, response] = await once(refused, 'unexpected-response');
    assert.equal(response.statusCode, status, path);
    response.resume();
  }
  browserLike.ws.close();
  sport.ws.close();
  general.ws.close();
  // Closed subscribers leave their topics.
  await waitForSubscribers(server, 'sport', 0);
  await terminal.stop();
  assert.match(terminal.output(), /closed \(1000/);
});

// ─── 4. file server + per-path handlers ─────────────────────────────────────

test('file server: static files with content types, /echo echoes, /odd-even answers and closes after 10', async (t) => {
  const server = createFileServer();
  const url = await serve(server);
  t.after(() => server.close());
  const expected: Record<string, string> = {
    '/': 'text/html; charset=utf-8',
    '/app.js': 'text/javascript; charset=utf-8',
    '/style.css': 'text/css; charset=utf-8',
    '/favicon.svg': 'image/svg+xml; charset=utf-8',
  };
  for (const [path, type] of Object.entries(expected)) {
    const response = await fetch(`${url.http}${path}`);
    assert.equal(response.status, 200, path);
    assert.equal(response.headers.get('content-type'), type, path);
    await response.arrayBuffer();
  }
  assert.equal((await fetch(`${url.http}/missing.png`)).status, 404);

  const echo = await client(`${url.ws}/echo`);
  echo.ws.send('ping ✓');
  assert.equal(await echo.next(), 'ping ✓');
  echo.ws.close();

  const counter = await client(`${url.ws}/odd-even`);
  const answers: string[] = [];
  for (let i = 1; i <= 10; i++) {
    counter.ws.send(`message ${i}`);
    answers.push(await counter.next());
  }
  assert.deepEqual(answers, ['odd', 'even', 'odd', 'even', 'odd', 'even', 'odd', 'even', 'odd', 'even']);
  assert.deepEqual(await counter.closed, { code: 1000, reason: 'that was 10, goodbye' });
});

// ─── 5. for await ───────────────────────────────────────────────────────────

test('for-await: path, query, subprotocol and origin on the connection; the loop answers in the chosen tone', async (t) => {
  const server = createForAwaitServer();
  const url = await serve(server);
  t.after(() => server.close());
  const original = console.log;
  const logged: string[] = [];
  console.log = (...args: unknown[]) => void logged.push(args.join(' ')); // the example logs each connection's end
  t.after(() => (console.log = original));

  const shout = await client(`${url.ws}/room/42?lang=fr`, ['whatever', 'shout'], { origin: 'https://app.example' });
  assert.equal(shout.ws.protocol, 'shout');
  assert.equal(await shout.next(), 'hello https://app.example: you are on /room/42?lang=fr, subprotocol "shout"');
  shout.ws.send('Bonjour, Ünïcode!');
  assert.equal(await shout.next(), 'BONJOUR, ÜNÏCODE!');
  shout.ws.send(Buffer.from([9, 9]));
  assert.equal(await shout.next(), 'binary:2');

  const plain = await client(`${url.ws}/`);
  assert.equal(await plain.next(), 'hello client without an Origin: you are on /, subprotocol ""');
  plain.ws.send('As Is');
  assert.equal(await plain.next(), 'As Is');

  const whisper = await client(`${url.ws}/w`, 'whisper');
  await whisper.next();
  whisper.ws.send('QUIET');
  assert.equal(await whisper.next(), 'quiet');

  for (const c of [shout, plain, whisper]) c.ws.close(1000);
  for (let i = 0; i < 100 && logged.length < 3; i++) await delay(10);
  assert.ok(logged.includes('/room/42: 2 message(s), closed with 1000'), logged.join('\n'));
});

// ─── 6. frame inspector ─────────────────────────────────────────────────────

type FrameReport = Extract<Report, { type: 'frame' }>;

/** The inspector's report channel: /watch, with every report kept and a bounded wait for the ones to come. */
async function watchInspector(ws: string): Promise<{ session: string; reports: Report[]; send(run: string): void; until(test: (reports: Report[]) => boolean): Promise<void> }> {
  const watch = new WebSocket(`${ws}/watch`);
  const reports: Report[] = [];
  const waiters = new Set<() => void>();
  watch.on('message', (data) => {
    reports.push(JSON.parse(String(data)) as Report);
    for (const waiter of waiters) waiter();
  });
  const until = (test: (reports: Report[]) => boolean, ms = 5_000): Promise<void> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        if (!test(reports)) return;
        waiters.delete(check);
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        waiters.delete(check);
        reject(new Error(`no such report within ${ms} ms; got:\n${reports.map((r) => JSON.stringify(r)).join('\n')}`));
      }, ms);
      waiters.add(check);
      check();
    });
  await until((r) => r.some((report) => report.type === 'hello'));
  const hello = reports.find((report) => report.type === 'hello') as Extract<Report, { type: 'hello' }>;
  return { session: hello.session, reports, until, send: (run) => watch.send(JSON.stringify({ run })) };
}

const framesOf = (reports: Report[], connection: number): FrameReport[] =>
  reports.filter((r): r is FrameReport => r.type === 'frame' && r.connection === connection);
const closedReport = (connection: number) => (reports: Report[]) => reports.some((r) => r.type === 'closed' && r.connection === connection);

test('frame reader: the RFC 6455 §5.7 example frames, fed whole and one byte at a time', () => {
  const hello = Buffer.from('818537fa213d7f9f4d5158', 'hex'); // a masked "Hello"
  const binary256 = Buffer.concat([Buffer.from('827e0100', 'hex'), Buffer.alloc(256, 7)]);
  const binary64k = Buffer.concat([Buffer.from('827f0000000000010000', 'hex'), Buffer.alloc(65536, 9)]);
  const stream = Buffer.concat([hello, binary256, binary64k]);
  for (const chunks of [[stream], [...stream].map((byte) => Buffer.from([byte]))]) {
    const reader = new FrameReader();
    const frames = chunks.flatMap((chunk) => reader.push(chunk));
    assert.equal(frames.length, 3);
    assert.deepEqual(
      frames.map((f) => [f.offset, f.headerHex, f.opcodeName, f.fin, f.masked, f.maskingKey, f.lengthField, f.lengthEncoding, f.payloadLength]),
      [
        [0, '81 85 37 fa 21 3d', 'TEXT', true, true, '37 fa 21 3d', 5, '7-bit', 5],
        [11, '82 7e 01 00', 'BINARY', true, false, null, 126, '16-bit', 256],
        [271, '82 7f 00 00 00 00 00 01 00 00', 'BINARY', true, false, null, 127, '64-bit', 65536],
      ],
    );
    assert.equal(frames[0].payloadOnWireHex, '7f 9f 4d 51 58');
    assert.equal(frames[0].payloadHex, '48 65 6c 6c 6f');
    assert.equal(frames[0].payloadText, 'Hello');
    assert.equal(frames[0].validUtf8, true);
    assert.equal(frames[2].truncated, true);
  }
});

test('frame inspector: the reports carry the real header bytes, masking key and length encoding of each frame, both ways', { timeout: 30_000 }, async (t) => {
  const server = createFrameInspector();
  const url = await serve(server);
  t.after(() => server.close());
  const page = await fetch(`${url.http}/`);
  assert.equal(page.headers.get('content-type'), 'text/html; charset=utf-8');
  assert.match(await page.text(), /<h1>Frame inspector<\/h1>/);

  const watch = await watchInspector(url.ws);
  // A client with a known masking key, so the expected bytes can be written out.
  const own = await client(`${url.ws}/inspect?session=${watch.session}`, undefined, { generateMask: (mask) => mask.set([1, 2, 3, 4]) });
  await watch.until((r) => r.some((report) => report.type === 'open' && report.peer === 'browser'));
  const { connection } = watch.reports.find((r) => r.type === 'open') as Extract<Report, { type: 'open' }>;

  own.ws.send('hello');
  assert.equal(await own.next(), 'hello');
  own.ws.send('z'.repeat(300));
  await own.next();
  own.ws.send('y'.repeat(70_000));
  await own.next();
  own.ws.close(4001, 'bye');
  await watch.until(closedReport(connection));

  const frames = framesOf(watch.reports, connection);
  const sent = frames.filter((f) => f.direction === 'client-to-server');
  const echoed = frames.filter((f) => f.direction === 'server-to-client');
  assert.deepEqual(
    sent.map((f) => [f.headerHex, f.opcodeName, f.fin, f.masked, f.maskingKey, f.lengthEncoding, f.payloadLength]),
    [
      ['81 85 01 02 03 04', 'TEXT', true, true, '01 02 03 04', '7-bit', 5],
      ['81 fe 01 2c 01 02 03 04', 'TEXT', true, true, '01 02 03 04', '16-bit', 300],
      ['81 ff 00 00 00 00 00 01 11 70 01 02 03 04', 'TEXT', true, true, '01 02 03 04', '64-bit', 70_000],
      ['88 85 01 02 03 04', 'CLOSE', true, true, '01 02 03 04', '7-bit', 5],
    ],
  );
  // "hello" XOR 01 02 03 04 01, as it crossed the wire.
  assert.equal(sent[0].payloadOnWireHex, '69 67 6f 68 6e');
  assert.equal(sent[0].payloadText, 'hello');
  assert.deepEqual(sent[3].close, { code: 4001, reason: 'bye' });
  assert.deepEqual(
    echoed.map((f) => [f.headerHex, f.opcodeName, f.masked, f.lengthEncoding]),
    [
      ['81 05', 'TEXT', false, '7-bit'],
      ['81 7e 01 2c', 'TEXT', false, '16-bit'],
      ['81 7f 00 00 00 00 00 01 11 70', 'TEXT', false, '64-bit'],
      ['88 02', 'CLOSE', false, '7-bit'], // §5.5.1: the server echoes the status code
    ],
  );
  assert.deepEqual(echoed[3].close, { code: 4001, reason: '' });
  assert.deepEqual(await own.closed, { code: 4001, reason: '' });
  const closed = watch.reports.find((r) => r.type === 'closed' && r.connection === connection);
  assert.deepEqual(closed, { type: 'closed', connection, code: 4001, reason: 'bye', wasClean: true });
});

test('frame inspector: the scripted cases a browser cannot send, and the server answers to them', { timeout: 30_000 }, async (t) => {
  const server = createFrameInspector();
  const url = await serve(server);
  t.after(() => server.close());
  const watch = await watchInspector(url.ws);

  /** Run a case; its connection's reports once the server has closed it. */
  const run = async (name: string): Promise<{ sent: FrameReport[]; answered: FrameReport[]; reports: Report[] }> => {
    watch.send(name);
    await watch.until((r) => r.some((report) => report.type === 'open' && report.case === name));
    const { connection } = watch.reports.find((r) => r.type === 'open' && r.case === name) as Extract<Report, { type: 'open' }>;
    await watch.until(closedReport(connection));
    const reports = watch.reports.filter((r) => 'connection' in r && r.connection === connection);
    const frames = framesOf(reports, connection);
    return { reports, sent: frames.filter((f) => f.direction === 'client-to-server'), answered: frames.filter((f) => f.direction === 'server-to-client') };
  };
  const shape = (frames: FrameReport[]) => frames.map((f) => `${f.opcodeName} fin=${f.fin ? 1 : 0}${f.masked ? ' masked' : ''}`);

  const fragmented = await run('fragmented-text');
  assert.deepEqual(shape(fragmented.sent), ['TEXT fin=0 masked', 'CONTINUATION fin=0 masked', 'CONTINUATION fin=1 masked', 'CLOSE fin=1 masked']);
  assert.deepEqual(fragmented.sent.slice(0, 3).map((f) => f.payloadText), ['Hello, ', 'fragmented ', 'world!']);
  assert.deepEqual(shape(fragmented.answered), ['TEXT fin=1', 'CLOSE fin=1']);
  assert.equal(fragmented.answered[0].payloadText, 'Hello, fragmented world!');

  const ping = await run('ping');
  assert.deepEqual(shape(ping.sent), ['PING fin=1 masked', 'CLOSE fin=1 masked']);
  assert.equal(ping.answered[0].opcodeName, 'PONG');
  assert.equal(ping.answered[0].payloadHex, ping.sent[0].payloadHex); // §5.5.3: the ping's payload comes back
  assert.equal(ping.answered[0].payloadText, 'are you there?');

  const invalid = await run('invalid-utf8');
  assert.equal(invalid.sent[0].validUtf8, false);
  assert.deepEqual(invalid.answered.map((f) => f.close?.code), [1007]);
  const error = invalid.reports.find((r) => r.type === 'error');
  assert.ok(error !== undefined && error.type === 'error');
  assert.deepEqual([error.code, error.closeCode, error.rfcSection], ['WS_ERR_INVALID_UTF8', 1007, '8.1']);

  const closing = await run('close-with-reason');
  assert.deepEqual(closing.sent.map((f) => f.close), [{ code: 4000, reason: 'done here, thanks' }]);
  assert.deepEqual(closing.answered.map((f) => f.close), [{ code: 4000, reason: '' }]);

  const unmasked = await run('unmasked');
  assert.deepEqual(shape(unmasked.sent), ['TEXT fin=1']);
  assert.deepEqual(unmasked.answered.map((f) => f.close?.code), [1002]);

  assert.deepEqual(watch.reports.filter((r) => r.type === 'script-failed'), []);
});

// ─── the npm scripts ────────────────────────────────────────────────────────

interface Script {
  child: ChildProcess;
  output(): string;
  waitFor(pattern: RegExp, ms?: number): Promise<RegExpMatchArray>;
  stop(): Promise<void>;
}

/**
 * `npm run <script> -- <args>` in its own process group, so that stopping it
 * reaches npm, tsx and the example alike (by the group's id, which is ours).
 */
function startScript(script: string, args: string[]): Script {
  const child = spawn('npm', ['run', script, '--', ...args], {
    cwd: REPO,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1' },
  });
  let output = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (output += chunk));
  // 'close', not 'exit': npm may exit before the example it started; the
  // output pipes close only once every process of the group has.
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let stopping: Promise<void> | undefined;
  return {
    child,
    output: () => output,
    async waitFor(pattern, ms = 15_000) {
      const deadline = Date.now() + ms;
      for (;;) {
        const match = output.match(pattern);
        if (match) return match;
        if (child.exitCode !== null || Date.now() > deadline) {
          throw new Error(`npm run ${script}: no ${pattern} in its output:\n${output}`);
        }
        await delay(20);
      }
    },
    stop() {
      stopping ??= child.exitCode === null && child.signalCode === null ? stopProcessGroup(child, exited) : Promise.resolve();
      return stopping;
    },
  };
}

test('every example runs from its npm script, answers, and exits cleanly on SIGTERM', async (t) => {
  const scripts: Array<[script: string, path: string, expect: RegExp]> = [
    ['example:echo', '/', /<h1>Echo<\/h1>/],
    ['example:chat', '/', /<h1>Chat<\/h1>/],
    ['example:pubsub', '/notify?topic=news&msg=hi', /^delivered to 0 subscribers of news/],
    ['example:files', '/', /<h1>Files and paths<\/h1>/],
    ['example:for-await', '/', /for await/],
    ['example:inspector', '/', /<h1>Frame inspector<\/h1>/],
  ];
  const running = scripts.map(([script]) => startScript(script, ['--port', '0']));
  t.after(() => Promise.all(running.map((r) => r.stop())));
  await Promise.all(
    scripts.map(async ([script, path, expect], i) => {
      const run = running[i];
      const [origin] = await run.waitFor(/http:\/\/127\.0\.0\.1:\d+/);
      const response = await fetch(`${origin}${path}`);
      assert.equal(response.status, 200, script);
      assert.match(await response.text(), expect, script);
      await run.stop();
      assert.match(run.output(), /SIGTERM: closing/, `${script} shut down gracefully`);
    }),
  );
});
