/**
 * Many bare WebSocket clients in one process, for fan-out tests: a child
 * process of its own, so the test's process keeps its file descriptors for
 * the server side (one fd per socket on each side).
 *
 *   tsx test/helpers/many-clients.ts <port> <count> <path>
 *
 * Opens `count` connections to 127.0.0.1:<port><path> (a few hundred at a
 * time), each doing the opening handshake by hand, and prints `ready <n>`
 * once every one got its 101. From then on it counts the bytes each client
 * receives after its 101 (the server's frames: unmasked, so a message of a
 * known size is a known number of bytes). Each line `report` on stdin is
 * answered with `bytes <total> min <fewest of one client> max <most>`.
 * It exits when stdin ends, closing every socket.
 */
import net from 'node:net';
import { createInterface } from 'node:readline';

const [portArg, countArg, path = '/'] = process.argv.slice(2);
const port = Number(portArg);
const count = Number(countArg);
const REQUEST = Buffer.from(
  `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
    'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
);
const HEAD_END = Buffer.from('\r\n\r\n');
const CONCURRENCY = 256;

const sockets: net.Socket[] = [];
const received = new Float64Array(count);
let ready = 0;
let started = 0;

function open(index: number): void {
  const socket = net.connect(port, '127.0.0.1');
  sockets.push(socket);
  let head: Buffer | null = Buffer.alloc(0);
  socket.on('connect', () => socket.write(REQUEST));
  socket.on('data', (chunk: Buffer) => {
    if (head === null) {
      received[index] += chunk.length;
      return;
    }
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf(HEAD_END);
    if (end === -1) return;
    if (!head.subarray(0, 12).toString('latin1').startsWith('HTTP/1.1 101')) {
      console.error(`client ${index}: ${head.subarray(0, end).toString('latin1')}`);
      process.exit(1);
    }
    received[index] += head.length - end - 4;
    head = null;
    ready++;
    if (ready === count) console.log(`ready ${ready}`);
    if (started < count) open(started++);
  });
  socket.on('error', (error) => {
    console.error(`client ${index}: ${error.message}`);
    process.exit(1);
  });
}

for (; started < Math.min(CONCURRENCY, count); ) open(started++);

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  if (line.trim() !== 'report') return;
  let total = 0;
  let min = Infinity;
  let max = 0;
  for (const bytes of received) {
    total += bytes;
    if (bytes < min) min = bytes;
    if (bytes > max) max = bytes;
  }
  console.log(`bytes ${total} min ${min} max ${max}`);
});
lines.on('close', () => {
  for (const socket of sockets) socket.destroy();
  process.exit(0);
});
