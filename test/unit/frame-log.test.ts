import { test } from 'node:test';
import assert from 'node:assert/strict';
import { describeFrame } from '../../src/protocol/frame-log.js';
import { WebSocketProtocol } from '../../src/protocol/protocol.js';
import { Opcode } from '../../src/framing/opcodes.js';

test('frames print readably', () => {
  assert.equal(describeFrame('<', Opcode.TEXT, 'hello'), "< TEXT 'hello' [5 bytes]");
  assert.equal(describeFrame('>', Opcode.TEXT, ''), '> TEXT [0 bytes]');
  assert.equal(describeFrame('<', Opcode.BINARY, Buffer.from([1, 0xab])), '< BINARY 01 ab [2 bytes]');
  assert.equal(describeFrame('<', Opcode.BINARY, Buffer.alloc(30)), `< BINARY ${Array(24).fill('00').join(' ')} ... [30 bytes]`);
  assert.equal(describeFrame('<', Opcode.CLOSE, Buffer.from([0x03, 0xe8, 0x62, 0x79, 0x65])), "< CLOSE 1000 (OK) 'bye' [5 bytes]");
  assert.equal(describeFrame('>', Opcode.CLOSE, Buffer.alloc(0)), '> CLOSE (no code) [0 bytes]');
  assert.equal(describeFrame('>', Opcode.PING, Buffer.alloc(0)), '> PING [0 bytes]');
  assert.equal(describeFrame('>', Opcode.TEXT, 'ab', false), "> TEXT (fin=0) 'ab' [2 bytes]");
});

test('a protocol with a logger reports messages, control frames and failures; none without', () => {
  const lines: string[] = [];
  const listener = { onText() {}, onBinary() {}, onPing() {}, onPong() {}, onCloseFrame() {}, onProtocolError() {}, onInternalError() {} };
  const protocol = new WebSocketProtocol(listener, { role: 'server', logger: (line) => lines.push(line) });
  // Masked "Hello" (RFC 6455 §5.7), then a frame with RSV2 set.
  protocol.receiveData(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
  protocol.sendText('Hi');
  protocol.receiveData(Buffer.from('a18037fa213d', 'hex'));
  assert.deepEqual(lines.slice(0, 2), ["< TEXT 'Hello' [5 bytes]", "> TEXT 'Hi' [2 bytes]"]);
  assert.match(lines[2], /^! WS_ERR_RESERVED_BITS \(RFC 6455 §5\.2\).*→ close 1002$/);
  assert.match(lines[3], /^> CLOSE 1002 \(protocol error\)/);
  const quiet = new WebSocketProtocol(listener, { role: 'server', logger: null });
  quiet.receiveData(Buffer.from('818537fa213d7f9f4d5158', 'hex'));
  assert.equal(lines.length, 4);
});
