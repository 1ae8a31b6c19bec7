// The frame inspector page. It opens two connections to the server that
// served it: /watch, on which the server reports every frame it reads and
// writes on the inspected connections (and takes the page's requests for
// scripted cases), and /inspect, the page's own connection, whose frames it
// shows. See server.ts for the whole design.
const base = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}`;
const RFC = 'https://www.rfc-editor.org/rfc/rfc6455';

// ─── What the RFC says, by field, opcode and close code ─────────────────────

/** Each header field: its section, and a one-line reading of its value. */
const FIELDS = {
  fin: { name: 'FIN', section: '5.2', about: 'the final fragment of a message (§5.4: 0 means more fragments follow)' },
  rsv1: { name: 'RSV1', section: '5.2', about: 'must be 0 unless an extension gives it a meaning (permessage-deflate: compressed, RFC 7692)' },
  rsv2: { name: 'RSV2', section: '5.2', about: 'must be 0 unless an extension gives it a meaning' },
  rsv3: { name: 'RSV3', section: '5.2', about: 'must be 0 unless an extension gives it a meaning' },
  opcode: { name: 'opcode', section: '5.2', about: 'how to read the payload (values in §5.2, registry in §11.8)' },
  mask: { name: 'MASK', section: ['5.2', '5.3'], about: 'a client masks every frame it sends, a server none (§5.1)' },
  length: { name: 'Payload len', section: '5.2', about: '0–125: the length; 126: a 16-bit length follows; 127: a 64-bit length follows' },
  extended: { name: 'Extended payload length', section: '5.2', about: 'the length in network byte order, in the minimal number of bytes' },
  key: { name: 'Masking-key', section: ['5.2', '5.3'], about: '32 random bits: payload byte i is XORed with key byte i mod 4' },
};

const OPCODES = {
  0: { name: 'CONTINUATION', section: '5.4', about: 'the next fragment of a fragmented message' },
  1: { name: 'TEXT', section: '5.6', about: 'a text message: the payload is UTF-8 (§8.1)' },
  2: { name: 'BINARY', section: '5.6', about: 'a binary message: bytes for the application' },
  8: { name: 'CLOSE', section: '5.5.1', about: 'starts or answers the closing handshake (§7)' },
  9: { name: 'PING', section: '5.5.2', about: 'a ping: the peer must answer with a pong carrying the same payload' },
  10: { name: 'PONG', section: '5.5.3', about: 'the answer to a ping (or a unidirectional heartbeat)' },
};

/** Close codes defined by RFC 6455 §7.4.1; 1012–1014 were registered at IANA later (§11.7). */
const CLOSE_CODES = {
  1000: ['Normal Closure', 'the purpose of the connection was fulfilled'],
  1001: ['Going Away', 'a server going down or a browser leaving the page'],
  1002: ['Protocol Error', 'the peer broke a rule of the protocol'],
  1003: ['Unsupported Data', 'a kind of data the endpoint cannot accept'],
  1005: ['No Status Received', 'reported when a close frame had no code; never sent on the wire'],
  1006: ['Abnormal Closure', 'reported when TCP closed without a close frame; never sent on the wire'],
  1007: ['Invalid Frame Payload Data', 'e.g. a text message that is not UTF-8 (§8.1)'],
  1008: ['Policy Violation', 'a message that violates the endpoint\'s policy'],
  1009: ['Message Too Big', 'a message too big to process'],
  1010: ['Mandatory Extension', 'the client needed an extension the server did not agree to'],
  1011: ['Internal Error', 'the server met an unexpected condition'],
  1015: ['TLS Handshake', 'reported when the TLS handshake failed; never sent on the wire'],
};

function describeCloseCode(code) {
  if (code in CLOSE_CODES) return { name: CLOSE_CODES[code][0], about: CLOSE_CODES[code][1], section: '7.4.1' };
  if (code >= 1012 && code <= 1014) return { name: 'registered at IANA', about: 'a code added to the registry after RFC 6455', section: '11.7' };
  if (code >= 3000 && code <= 3999) return { name: 'registered for libraries and frameworks', about: 'registered with IANA', section: '7.4.2' };
  if (code >= 4000 && code <= 4999) return { name: 'private use', about: 'a code applications agree on among themselves', section: '7.4.2' };
  return { name: 'not a valid code to send', about: 'a close frame with it is a protocol error', section: '7.4.2' };
}

/** A link to a section of RFC 6455; several sections give several links. */
function sectionLink(section) {
  if (Array.isArray(section)) return el('span', null, ...section.flatMap((one, i) => (i === 0 ? [sectionLink(one)] : [' ', sectionLink(one)])));
  const link = document.createElement('a');
  link.href = `${RFC}#section-${section}`;
  link.target = '_blank';
  link.textContent = `§${section}`;
  link.className = 'rfc';
  return link;
}

/** An element with text and children. */
function el(tag, className, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.append(...children.filter((child) => child !== null && child !== undefined));
  return element;
}

// ─── The log ────────────────────────────────────────────────────────────────

const frames = document.getElementById('frames');
/** Connection number → who the client is ("your browser", "scripted client: ping"). */
const peers = new Map();

function append(item) {
  frames.append(item);
  item.scrollIntoView({ block: 'nearest' });
}

function event(connection, className, ...children) {
  const item = el('li', `event ${className}`, el('span', 'connection', `#${connection}`), ' ', ...children);
  item.dataset.connection = connection;
  append(item);
}

const bits = (value, width) => value.toString(2).padStart(width, '0');

function showFrame(frame) {
  const peer = peers.get(frame.connection) ?? 'client';
  const fromClient = frame.direction === 'client-to-server';
  const opcode = OPCODES[frame.opcode] ?? { name: frame.opcodeName, section: '5.2', about: 'a reserved opcode: the receiver must fail the connection' };

  // The §5.2 diagram: one column per field, with its bits, what they say, and where the RFC defines it.
  const columns = [
    [FIELDS.fin, frame.fin ? '1' : '0', frame.fin ? 'final' : 'more to come'],
    [FIELDS.rsv1, frame.rsv1 ? '1' : '0', frame.rsv1 ? 'set' : ''],
    [FIELDS.rsv2, frame.rsv2 ? '1' : '0', frame.rsv2 ? 'set' : ''],
    [FIELDS.rsv3, frame.rsv3 ? '1' : '0', frame.rsv3 ? 'set' : ''],
    [FIELDS.opcode, bits(frame.opcode, 4), `${opcode.name} (0x${frame.opcode.toString(16)})`],
    [FIELDS.mask, frame.masked ? '1' : '0', frame.masked ? 'masked' : 'not masked'],
    [FIELDS.length, bits(frame.lengthField, 7), frame.lengthField < 126 ? `${frame.lengthField} bytes` : `${frame.lengthField}: ${frame.lengthEncoding} length follows`],
  ];
  if (frame.lengthEncoding === '16-bit') columns.push([{ ...FIELDS.extended, name: 'Extended payload length (16 bits)' }, bits(frame.payloadLength, 16), `${frame.payloadLength} bytes`]);
  if (frame.lengthEncoding === '64-bit') columns.push([{ ...FIELDS.extended, name: 'Extended payload length (64 bits)' }, `0x${frame.payloadLength.toString(16).padStart(16, '0')}`, `${frame.payloadLength} bytes`]);
  if (frame.masked) columns.push([FIELDS.key, frame.maskingKey, '']);

  const diagram = el('table', 'diagram');
  const rows = ['names', 'bits', 'meaning', 'sections'].map((name) => diagram.appendChild(el('tr', name)));
  for (const [field, value, meaning] of columns) {
    const name = el('th', null, field.name);
    name.title = field.about;
    rows[0].append(name);
    rows[1].append(el('td', null, el('code', null, value)));
    rows[2].append(el('td', null, meaning));
    rows[3].append(el('td', null, sectionLink(field.section)));
  }

  const details = el('dl', null);
  const add = (term, ...value) => details.append(el('dt', null, term), el('dd', null, ...value));
  add('Frame', `${opcode.name}: ${opcode.about} `, sectionLink(opcode.section));
  add('Header bytes', el('code', 'hex', frame.headerHex), ` (${frame.headerHex.split(' ').length} bytes, ${frame.lengthEncoding} length)`);
  if (frame.close) {
    if (frame.close.code === null) add('Close code', 'none (the receiver reports 1005) ', sectionLink('7.1.5'));
    else {
      const code = describeCloseCode(frame.close.code);
      add('Close code', el('span', 'close-code', `${frame.close.code} ${code.name}`), `: ${code.about} `, sectionLink(code.section));
    }
    add('Reason', frame.close.reason ? JSON.stringify(frame.close.reason) : '(none)');
  }
  if (frame.payloadLength > 0) {
    const more = frame.truncated ? ` … (first ${frame.payloadHex.split(' ').length} of ${frame.payloadLength} bytes)` : '';
    if (frame.masked) add('Payload on the wire (masked)', el('code', 'hex', frame.payloadOnWireHex), more);
    add(frame.masked ? 'Payload unmasked ' : 'Payload', ...(frame.masked ? [sectionLink('5.3'), ' '] : []), el('code', 'hex', frame.payloadHex), more);
    if (!frame.close) {
      const utf8 = frame.validUtf8 === false ? ' (not valid UTF-8: U+FFFD where a byte does not fit, §8.1)' : '';
      add('As text', el('q', 'text', frame.payloadText), utf8);
    }
  }

  const arrow = fromClient ? `${peer} → server` : `server → ${peer}`;
  const summary = el(
    'header',
    null,
    el('span', 'connection', `#${frame.connection}`),
    ` ${arrow} `,
    el('strong', 'opcode', opcode.name),
    ` FIN=${frame.fin ? 1 : 0} · ${frame.payloadLength} bytes`,
  );
  const item = el('li', `frame ${fromClient ? 'from-client' : 'from-server'}`, summary, diagram, details);
  item.dataset.connection = frame.connection;
  item.dataset.direction = frame.direction;
  item.dataset.opcode = frame.opcode;
  item.dataset.fin = frame.fin ? '1' : '0';
  append(item);
}

// ─── The report channel ─────────────────────────────────────────────────────

const status = document.getElementById('status');
const watch = new WebSocket(`${base}/watch`);
let session = null;

watch.onmessage = (message) => {
  const report = JSON.parse(message.data);
  switch (report.type) {
    case 'hello':
      session = report.session;
      for (const button of document.querySelectorAll('button[data-case]')) {
        button.title = report.cases[button.dataset.case] ?? '';
        button.disabled = false;
      }
      openOwnConnection();
      break;
    case 'open': {
      const peer = report.peer === 'browser' ? 'your browser' : `scripted client (${report.case})`;
      peers.set(report.connection, peer);
      event(report.connection, 'opened', `${peer} connected `, report.explain ? el('em', null, report.explain) : null);
      break;
    }
    case 'frame':
      showFrame(report);
      break;
    case 'error':
      event(report.connection, 'error', `the server failed the connection: ${report.code}, close code ${report.closeCode}: ${report.message} `, sectionLink(report.rfcSection));
      break;
    case 'closed': {
      const code = describeCloseCode(report.code);
      // §7.1.5: the close code is the one in the close frame received; 1005 if it had none, 1006 if none came.
      const reason = report.reason ? ` ${JSON.stringify(report.reason)}` : '';
      const clean = report.wasClean ? 'clean: both close frames were exchanged' : 'not clean: the closing handshake did not complete';
      event(report.connection, 'closed', `TCP closed: ${report.code} ${code.name}${reason} (the close code the server reports) `, sectionLink('7.1.5'), `; ${clean} `, sectionLink('7.1.4'));
      break;
    }
    case 'script-failed':
      event('?', 'error', `the scripted client (${report.case}) failed: ${report.message}`);
      break;
  }
};
watch.onclose = () => {
  status.textContent = 'the report channel closed: reload the page';
  for (const button of document.querySelectorAll('button')) button.disabled = button.id !== 'clear';
};

for (const button of document.querySelectorAll('button[data-case]')) {
  button.onclick = () => watch.send(JSON.stringify({ run: button.dataset.case }));
}
document.getElementById('clear').onclick = () => frames.replaceChildren();

// ─── The page's own connection ──────────────────────────────────────────────

let own = null;
const ownButtons = ['#send-text button', '#send-large', '#send-huge', '#close'].map((selector) => document.querySelector(selector));
const reconnect = document.getElementById('reconnect');

function openOwnConnection() {
  own = new WebSocket(`${base}/inspect?session=${session}`);
  own.onopen = () => {
    status.textContent = `session ${session}: your connection is open`;
    for (const button of ownButtons) button.disabled = false;
    reconnect.disabled = true;
  };
  own.onclose = (event) => {
    status.textContent = `session ${session}: your connection closed (${event.code}${event.reason ? ` ${event.reason}` : ''})`;
    for (const button of ownButtons) button.disabled = true;
    reconnect.disabled = false;
  };
}

document.getElementById('send-text').onsubmit = (event) => {
  event.preventDefault();
  own.send(document.getElementById('text').value);
};
document.getElementById('send-large').onclick = () => own.send('0123456789'.repeat(30));
document.getElementById('send-huge').onclick = () => own.send('x'.repeat(70_000));
document.getElementById('close').onclick = () => own.close(4001, 'closed from the inspector page');
reconnect.onclick = () => openOwnConnection();
