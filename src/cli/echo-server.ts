/**
 * `npm start`: an echo server (text back as text, binary as binary), the
 * target for the Autobahn|Testsuite fuzzingclient (see fuzzing/).
 *
 *   npm start -- --port 9001 --host 127.0.0.1 [--deflate]
 */
import { parseArgs } from 'node:util';
import { createServer } from '../index.js';

const { values } = parseArgs({
  options: {
    port: { type: 'string', default: '9001' },
    host: { type: 'string', default: '127.0.0.1' },
    deflate: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  console.log('usage: npm start -- [--port 9001] [--host 127.0.0.1] [--deflate]');
  process.exit(0);
}

const server = createServer({ perMessageDeflate: values.deflate }, (connection) => {
  connection.on('message', (message) => {
    connection.send(message);
  });
});

const address = await server.listen(Number(values.port), values.host);
const shownHost = address.family === 'IPv6' ? `[${address.address}]` : address.address;
console.log(`echo server listening on ws://${shownHost}:${address.port}${values.deflate ? ' (permessage-deflate on)' : ''}`);

for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    console.log(`${signal}: closing connections (1001)...`);
    void server.close().then(() => process.exit(0));
  });
}
