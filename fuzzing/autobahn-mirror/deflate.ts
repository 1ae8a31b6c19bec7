/**
 * permessage-deflate (RFC 7692) for the fuzzing client, written independently
 * of src/ and the way a long-lived peer does it: one zlib deflate stream and
 * one inflate stream per connection, each message ended with a sync flush
 * (the context carries over from message to message unless no_context_takeover
 * was agreed for that direction, in which case the stream is replaced).
 *
 * Offers are serialized like Autobahn's PerMessageDeflateOffer
 * (autobahn/websocket/compress_deflate.py, getExtensionString):
 *
 *   permessage-deflate[; client_no_context_takeover][; client_max_window_bits]
 *                     [; server_no_context_takeover][; server_max_window_bits=N]
 *
 * The first two say what the client can do (accept_no_context_takeover and
 * accept_max_window_bits, both true by default), the last two what it asks of
 * the server (request_no_context_takeover, request_max_window_bits).
 */
import { constants as zlibConstants, createDeflateRaw, createInflateRaw, type DeflateRaw, type InflateRaw } from 'node:zlib';

export const PERMESSAGE_DEFLATE = 'permessage-deflate';

/** RFC 7692 §7.2.1: a sync flush ends with these 4 octets, which the sender removes and the receiver puts back. */
const SYNC_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

export interface DeflateOffer {
  /** The client can reset its compressor per message if asked (sends `client_no_context_takeover`). Default true. */
  readonly acceptNoContextTakeover?: boolean;
  /** The client can use a smaller window if asked (sends `client_max_window_bits`). Default true. */
  readonly acceptMaxWindowBits?: boolean;
  /** Ask the server to reset its compressor per message (`server_no_context_takeover`). */
  readonly requestNoContextTakeover?: boolean;
  /** Ask the server for a window of at most 2^N bytes (`server_max_window_bits=N`); 0 = do not ask. */
  readonly requestMaxWindowBits?: number;
}

export function offerString(offer: DeflateOffer): string {
  let s = PERMESSAGE_DEFLATE;
  if (offer.acceptNoContextTakeover ?? true) s += '; client_no_context_takeover';
  if (offer.acceptMaxWindowBits ?? true) s += '; client_max_window_bits';
  if (offer.requestNoContextTakeover === true) s += '; server_no_context_takeover';
  if ((offer.requestMaxWindowBits ?? 0) !== 0) s += `; server_max_window_bits=${offer.requestMaxWindowBits}`;
  return s;
}

/** The Sec-WebSocket-Extensions value for a list of offers, in order of preference. */
export function offersHeader(offers: readonly DeflateOffer[]): string {
  return offers.map(offerString).join(', ');
}

/** Autobahn's description of an offer list: `[(requestNoContextTakeover, requestMaxWindowBits), …]`. */
export function describeOffers(offers: readonly DeflateOffer[]): string {
  const py = (b: boolean | undefined): string => (b === true ? 'True' : 'False');
  return `[${offers.map((o) => `(${py(o.requestNoContextTakeover)}, ${o.requestMaxWindowBits ?? 0})`).join(', ')}]`;
}

/** What the server's answer established, per direction. */
export interface DeflateAgreement {
  /** The server resets its compressor per message: our inflater must not keep context. */
  readonly serverNoContextTakeover: boolean;
  /** We must reset our compressor per message. */
  readonly clientNoContextTakeover: boolean;
  /** The server compresses with at most this window: our inflater uses exactly it. */
  readonly serverMaxWindowBits: number;
  /** We must compress with at most this window. */
  readonly clientMaxWindowBits: number;
  /** The extension element as the server sent it. */
  readonly response: string;
}

type Params = Array<[name: string, value: string | true]>;

/**
 * Split a Sec-WebSocket-Extensions value into elements (RFC 6455 §9.1), with
 * quoted-string values unquoted. Returns a string describing the problem if
 * the syntax is broken.
 */
export function parseExtensions(header: string): Array<{ name: string; params: Params }> | string {
  const out: Array<{ name: string; params: Params }> = [];
  const token = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+/;
  let rest = header.trim();
  while (rest.length > 0) {
    const name = token.exec(rest);
    if (name === null) return `expected an extension name at ${JSON.stringify(rest)}`;
    rest = rest.slice(name[0].length).trimStart();
    const params: Params = [];
    while (rest.startsWith(';')) {
      rest = rest.slice(1).trimStart();
      const param = token.exec(rest);
      if (param === null) return `expected a parameter name at ${JSON.stringify(rest)}`;
      rest = rest.slice(param[0].length).trimStart();
      let value: string | true = true;
      if (rest.startsWith('=')) {
        rest = rest.slice(1).trimStart();
        const quoted = /^"((?:[^"\\]|\\.)*)"/.exec(rest);
        const plain = token.exec(rest);
        if (quoted !== null) {
          value = quoted[1].replace(/\\(.)/g, '$1');
          rest = rest.slice(quoted[0].length).trimStart();
        } else if (plain !== null) {
          value = plain[0];
          rest = rest.slice(plain[0].length).trimStart();
        } else {
          return `expected a value for ${param[0]} at ${JSON.stringify(rest)}`;
        }
      }
      params.push([param[0].toLowerCase(), value]);
    }
    out.push({ name: name[0].toLowerCase(), params });
    if (rest.length === 0) break;
    if (!rest.startsWith(',')) return `expected ',' or ';' at ${JSON.stringify(rest)}`;
    rest = rest.slice(1).trimStart();
  }
  return out;
}

/** 8–15 written without leading zeros (RFC 7692 §7.1.2). */
function windowBits(value: string | true): number | undefined {
  if (value === true || !/^[1-9][0-9]?$/.test(value)) return undefined;
  const n = Number(value);
  return n >= 8 && n <= 15 ? n : undefined;
}

/**
 * Check the server's Sec-WebSocket-Extensions answer against what we offered
 * (RFC 7692 §5, §7.1) and work out the agreement. The answer must be exactly
 * one permessage-deflate element whose parameters fit at least one of our
 * offers: `server_no_context_takeover` present if that offer asked for it,
 * `server_max_window_bits` present and not above what that offer asked for
 * (or any 8–15 if it asked nothing), `client_max_window_bits` only if the
 * offer said we can take it, no repeated or unknown parameter.
 */
export function acceptResponse(header: string, offers: readonly DeflateOffer[]): DeflateAgreement | string {
  const parsed = parseExtensions(header);
  if (typeof parsed === 'string') return `malformed Sec-WebSocket-Extensions: ${parsed}`;
  if (parsed.length !== 1) return `expected one extension in the answer, got ${parsed.length}: ${header}`;
  const [element] = parsed;
  if (element.name !== PERMESSAGE_DEFLATE) return `server chose ${element.name}, which we did not offer`;
  const seen = new Map<string, string | true>();
  for (const [name, value] of element.params) {
    if (seen.has(name)) return `parameter ${name} repeated in the answer`;
    seen.set(name, value);
  }
  let serverNoContextTakeover = false;
  let clientNoContextTakeover = false;
  let serverMaxWindowBits: number | undefined;
  let clientMaxWindowBits: number | undefined;
  for (const [name, value] of seen) {
    switch (name) {
      case 'server_no_context_takeover':
        if (value !== true) return `server_no_context_takeover with a value (${value})`;
        serverNoContextTakeover = true;
        break;
      case 'client_no_context_takeover':
        if (value !== true) return `client_no_context_takeover with a value (${value})`;
        clientNoContextTakeover = true;
        break;
      case 'server_max_window_bits':
        serverMaxWindowBits = windowBits(value);
        if (serverMaxWindowBits === undefined) return `invalid server_max_window_bits ${value === true ? '(no value)' : value}`;
        break;
      case 'client_max_window_bits':
        clientMaxWindowBits = windowBits(value);
        if (clientMaxWindowBits === undefined) return `invalid client_max_window_bits ${value === true ? '(no value)' : value}`;
        break;
      default:
        return `unknown parameter ${name} in the answer`;
    }
  }
  const fits = (offer: DeflateOffer): string | null => {
    if (offer.requestNoContextTakeover === true && !serverNoContextTakeover) return 'server_no_context_takeover was requested but is missing';
    const asked = offer.requestMaxWindowBits ?? 0;
    if (asked !== 0 && serverMaxWindowBits === undefined) return `server_max_window_bits=${asked} was requested but is missing`;
    if (asked !== 0 && serverMaxWindowBits !== undefined && serverMaxWindowBits > asked) return `server_max_window_bits=${serverMaxWindowBits} is above the ${asked} requested`;
    if (clientMaxWindowBits !== undefined && offer.acceptMaxWindowBits === false) return 'client_max_window_bits was not offered';
    return null;
  };
  const problems = offers.map(fits);
  if (!problems.includes(null)) return `the answer fits none of our offers (${problems.join('; ')}): ${header}`;
  return {
    serverNoContextTakeover,
    clientNoContextTakeover,
    serverMaxWindowBits: serverMaxWindowBits ?? 15,
    clientMaxWindowBits: clientMaxWindowBits ?? 15,
    response: header.trim(),
  };
}

export interface CodecOptions {
  /** zlib level; Autobahn uses zlib's default (6). */
  readonly level?: number;
  /** zlib memLevel; Autobahn's default is 8. */
  readonly memLevel?: number;
  /** Largest message we inflate; more fails the message (a broken or hostile server). */
  readonly maxMessageSize?: number;
}

/** Compressed data the server sent cannot be inflated, or inflates past the limit. */
export class InflateError extends Error {}

/**
 * The client's half of permessage-deflate with persistent zlib streams. Each
 * direction is used by one message at a time, in order.
 */
export class StreamCodec {
  private deflater: DeflateRaw | null = null;
  private inflater: InflateRaw | null = null;
  private compressing: Promise<unknown> = Promise.resolve();
  private inflating: Promise<unknown> = Promise.resolve();
  private closed = false;
  private readonly level: number;
  private readonly memLevel: number;
  private readonly maxMessageSize: number;

  constructor(
    readonly agreement: DeflateAgreement,
    options: CodecOptions = {},
  ) {
    this.level = options.level ?? zlibConstants.Z_DEFAULT_COMPRESSION;
    this.memLevel = options.memLevel ?? 8;
    this.maxMessageSize = options.maxMessageSize ?? 64 * 1024 * 1024;
  }

  /** RFC 7692 §7.2.1: deflate, sync flush, drop the 00 00 ff ff tail. */
  compress(payload: Buffer): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      if (this.closed) throw new Error('codec closed');
      this.deflater ??= createDeflateRaw({ level: this.level, memLevel: this.memLevel, windowBits: this.agreement.clientMaxWindowBits });
      const out = await pump(this.deflater, [payload], Infinity);
      if (this.agreement.clientNoContextTakeover) this.dropDeflater();
      if (out.length < 4 || !out.subarray(out.length - 4).equals(SYNC_TAIL)) throw new Error('deflate output does not end with a sync flush');
      return out.subarray(0, out.length - 4);
    };
    const result = this.compressing.then(run, run);
    this.compressing = result.catch(() => undefined);
    return result;
  }

  /** RFC 7692 §7.2.2: append 00 00 ff ff and inflate. Rejects with InflateError on corrupt data. */
  decompress(payload: Buffer): Promise<Buffer> {
    const run = async (): Promise<Buffer> => {
      if (this.closed) throw new Error('codec closed');
      // Our inflater's window is the one agreed for the server: a server that
      // reaches further back than it may breaks the inflation ("invalid distance too far back").
      this.inflater ??= createInflateRaw({ windowBits: this.agreement.serverMaxWindowBits });
      try {
        return await pump(this.inflater, [payload, SYNC_TAIL], this.maxMessageSize);
      } catch (err) {
        this.dropInflater();
        throw new InflateError((err as Error).message);
      } finally {
        // server_no_context_takeover: the next message must inflate without this one's window.
        if (this.agreement.serverNoContextTakeover) this.dropInflater();
      }
    };
    const result = this.inflating.then(run, run);
    this.inflating = result.catch(() => undefined);
    return result;
  }

  close(): void {
    this.closed = true;
    this.dropDeflater();
    this.dropInflater();
  }

  private dropDeflater(): void {
    this.deflater?.close();
    this.deflater = null;
  }

  private dropInflater(): void {
    this.inflater?.close();
    this.inflater = null;
  }
}

/**
 * Write `inputs` into a zlib stream, sync-flush it and collect what comes
 * out. Output is delivered through 'data' before the flush callback runs (the
 * pattern ws relies on, too).
 */
function pump(stream: DeflateRaw | InflateRaw, inputs: readonly Buffer[], maxOutput: number): Promise<Buffer> {
  return new Promise<Buffer>((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    let settled = false;
    const finish = (error: Error | null): void => {
      if (settled) return;
      settled = true;
      stream.off('data', onData);
      stream.off('error', onError);
      if (error !== null) reject(error);
      else resolve(Buffer.concat(chunks, total));
    };
    const onData = (chunk: Buffer): void => {
      total += chunk.length;
      if (total > maxOutput) {
        finish(new Error(`inflated message exceeds ${maxOutput} bytes`));
        return;
      }
      chunks.push(chunk);
    };
    const onError = (err: Error): void => finish(err);
    stream.on('data', onData);
    stream.on('error', onError);
    for (const input of inputs) stream.write(input);
    stream.flush(zlibConstants.Z_SYNC_FLUSH, () => finish(null));
  });
}
