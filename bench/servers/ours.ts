// Our echo server for the benchmark (API contract of src/index.ts): text arrives as string,
// binary as Buffer; send(string) sends text, send(Buffer) binary.
// With --deflate: permessage-deflate enabled with its defaults (perMessageDeflate: true).
// --max-message N: maxMessageSize in bytes (default 64 MiB; bench/fairness.ts passes 16 MiB,
// the library's own default).
// --loop-lag: measures its event-loop lag and reports it on request (serveLoopLag in
// bench/common.ts; bench/fairness.ts).
// Prints {"port","pid"} on stdout when listening.
import { createServer } from '../../src/index.js';
import { announce, exitWithParent, intFlag, serveLoopLag } from '../common.js';

exitWithParent();
serveLoopLag();

const deflate = process.argv.includes('--deflate');
const maxMessageSize = intFlag('--max-message', 64 * 1024 * 1024);
const options = { host: '127.0.0.1', port: 0, maxMessageSize, ...(deflate ? { perMessageDeflate: true } : {}) };
const server = createServer(options, (conn) => {
  conn.on('message', (data: string | Buffer) => {
    conn.send(data);
  });
});
const address = await server.listen();
announce(address.port, { maxMessageSize, ...(deflate ? { deflate: true } : {}) });
