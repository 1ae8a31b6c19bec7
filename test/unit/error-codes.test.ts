/**
 * The table of error codes raised after the handshake (src/protocol/error-codes.ts):
 * every code the source raises is in it, every entry is raised somewhere, the
 * throw sites that still spell out a close code and section agree with it, and
 * the same fault has the same code in both roles.
 */
import assert from 'node:assert/strict';
import { readFile, readdir } from 'node:fs/promises';
import { describe, it } from 'node:test';
import { CloseCode } from '../../src/framing/close-codes.js';
import { InternalError, LocalError, ProtocolError, citeSection } from '../../src/errors.js';
import { WEBSOCKET_ERRORS, protocolError, type WebSocketErrorCode } from '../../src/protocol/error-codes.js';
import { connect } from '../../src/client/connect.js';
import { createServer } from '../../src/server/server.js';

const TABLE_FILE = 'protocol/error-codes.ts';

/** Every .ts file under src/ except the table itself, with its text. */
async function sources(): Promise<Array<{ file: string; text: string }>> {
  const root = new URL('../../src/', import.meta.url);
  const files = (await readdir(root, { recursive: true })).filter((f) => f.endsWith('.ts') && f.replaceAll('\\', '/') !== TABLE_FILE);
  assert.ok(files.length > 20, `only ${files.length} source files found`);
  return Promise.all(files.map(async (file) => ({ file, text: await readFile(new URL(file, root), 'utf8') })));
}

const table = WEBSOCKET_ERRORS as Record<string, (typeof WEBSOCKET_ERRORS)[WebSocketErrorCode]>;

describe('WEBSOCKET_ERRORS: one table for every error code after the handshake', () => {
  it('every WS_ERR_ code written in src/ is in the table, and every entry is raised somewhere', async () => {
    const used = new Set<string>();
    const stray: string[] = [];
    for (const { file, text } of await sources()) {
      for (const match of text.matchAll(/'(WS_ERR_[A-Z0-9_]+)'/g)) {
        used.add(match[1]);
        if (!(match[1] in table)) stray.push(`${file}: ${match[1]}`);
      }
    }
    assert.deepEqual(stray, [], 'codes raised in src/ that are not in src/protocol/error-codes.ts');
    const unused = Object.keys(table).filter((code) => !used.has(code));
    assert.deepEqual(unused, [], 'table entries no source file raises');
  });

  it('each throw site raises its code with the kind of error the table says', async () => {
    const wrong: string[] = [];
    for (const { file, text } of await sources()) {
      for (const match of text.matchAll(/new (LocalError|ProtocolError)\('(WS_ERR_[A-Z0-9_]+)'(?:, CloseCode\.([A-Z_]+), '([^']+)')?/g)) {
        const [, cls, code, closeName, section] = match;
        const entry = table[code];
        if (entry === undefined) continue; // reported by the test above
        if (cls === 'LocalError' && entry.kind !== 'local') wrong.push(`${file}: ${code} thrown as a LocalError, the table says ${entry.kind}`);
        if (cls === 'ProtocolError') {
          if (entry.kind === 'local' || entry.kind === 'internal') wrong.push(`${file}: ${code} thrown as a ProtocolError, the table says ${entry.kind}`);
          const closeCode = (CloseCode as Record<string, number>)[closeName];
          if (closeCode !== entry.closeCode) wrong.push(`${file}: ${code} with close code ${closeName} (${closeCode}), the table says ${entry.closeCode}`);
          if (section !== entry.section) wrong.push(`${file}: ${code} cites ${section}, the table says ${entry.section}`);
        }
      }
      for (const match of text.matchAll(/protocolError\('(WS_ERR_[A-Z0-9_]+)'/g)) {
        const entry = table[match[1]];
        if (entry !== undefined && (entry.kind === 'local' || entry.kind === 'internal')) wrong.push(`${file}: ${match[1]} raised as a ProtocolError, the table says ${entry.kind}`);
      }
    }
    assert.deepEqual(wrong, []);
  });

  it('entries are complete: a close code for what fails a connection, none for a local error, a meaning for all', () => {
    for (const [code, entry] of Object.entries(table)) {
      assert.match(code, /^WS_ERR_[A-Z0-9_]+$/);
      assert.ok(entry.meaning.length > 10, `${code}: meaning`);
      if (entry.kind === 'local') {
        assert.equal(entry.closeCode, null, code);
      } else {
        assert.equal(typeof entry.closeCode, 'number', code);
        assert.ok(Object.values(CloseCode).includes(entry.closeCode!), `${code}: ${entry.closeCode} is not a named close code`);
        assert.match(citeSection(entry.section), /^RFC (6455|7692) §\d+(\.\d+)*$/, `${code}: section ${entry.section}`);
      }
    }
  });

  it('protocolError() takes the close code and section from the table (a more precise section may be given)', () => {
    const error = protocolError('WS_ERR_MESSAGE_TOO_BIG', 'too big');
    assert.ok(error instanceof ProtocolError);
    assert.deepEqual([error.code, error.closeCode, error.rfcSection, error.message], ['WS_ERR_MESSAGE_TOO_BIG', 1009, '10.4', 'too big']);
    const rsv = protocolError('WS_ERR_RESERVED_BITS', 'on a continuation frame', 'RFC 7692 §6');
    assert.deepEqual([rsv.closeCode, rsv.rfcSection], [1002, 'RFC 7692 §6']);
  });

  it('an invalid permessage-deflate option has the same code on the server and on the client, raised before any I/O', async () => {
    const codeOf = async (fn: () => unknown): Promise<string> => {
      try {
        await fn();
      } catch (error) {
        assert.ok(error instanceof LocalError, String(error));
        return error.code;
      }
      assert.fail('did not throw');
    };
    const server = await codeOf(() => createServer({ perMessageDeflate: { serverMaxWindowBits: 7 } }));
    // (Port 9 on 127.0.0.1: nothing is connected to; the option is refused first.)
    const client = await codeOf(() => connect('ws://127.0.0.1:9/', { perMessageDeflate: { serverMaxWindowBits: 7 } }));
    assert.equal(server, 'WS_ERR_INVALID_OPTION');
    assert.equal(client, server);
  });
});

describe('InternalError: our own failures, with the table\'s close code and section', () => {
  it('every internal code of the table is an InternalError with its close code and section', () => {
    const internal = Object.entries(table).filter(([, entry]) => entry.kind === 'internal');
    assert.deepEqual(internal.map(([code]) => code).sort(), ['WS_ERR_COMPRESSION_FAILED', 'WS_ERR_INTERNAL']);
    for (const [code, entry] of internal) {
      const error = new InternalError(new Error('zlib said no'), code as 'WS_ERR_INTERNAL' | 'WS_ERR_COMPRESSION_FAILED');
      assert.equal(error.code, code);
      assert.equal(error.closeCode, entry.closeCode);
      assert.equal(error.rfcSection, entry.section);
      assert.match(error.message, /zlib said no/);
    }
  });
});
