/**
 * Example 3, the other end: a terminal subscriber that prints every message
 * the hub publishes to its topic. It uses the WebSocket built into Node.js,
 * the same API as in a browser (Node 20 needs --experimental-websocket,
 * which the npm script passes).
 *
 *   npm run example:subscribe                                  ws://127.0.0.1:8082/ws/general
 *   npm run example:subscribe -- ws://127.0.0.1:8082/ws/news   the topic news
 *   npm run example:subscribe -- ws://host:port/ws/news        elsewhere
 */
const url = process.argv[2] ?? 'ws://127.0.0.1:8082/ws/general';
const ws = new WebSocket(url);

/** The topic in `/ws/<topic>`, else the hub's default. */
function topicOf(address: string): string {
  const match = /\/ws\/([^/?]+)/.exec(new URL(address).pathname);
  return match === null ? 'general' : decodeURIComponent(match[1]);
}

ws.addEventListener('open', () => {
  const topic = topicOf(url);
  const origin = new URL(url.replace(/^ws/, 'http')).origin;
  console.log(`subscribed to ${topic} at ${url}; publish with: curl -d hello ${origin}/publish/${encodeURIComponent(topic)}`);
});
ws.addEventListener('message', (event) => console.log(`message: ${String(event.data)}`));
ws.addEventListener('error', () => console.error(`cannot reach ${url} (is the hub running? npm run example:pubsub)`));
ws.addEventListener('close', (event) => {
  console.log(`closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`);
  process.exit(event.code === 1000 || event.code === 1001 ? 0 : 1);
});
// Ctrl-C may arrive more than once (npm and tsx pass it on too); a second close() does nothing.
process.on('SIGINT', () => ws.close(1000, 'bye'));
process.on('SIGTERM', () => ws.close(1000, 'bye'));

export {}; // a module: top-level names stay local
