/**
 * A static file handler for node:http: `index.html` and its assets from one
 * folder, with content types, for the pages that go with a WebSocket server
 * (see the `http` server option). Deliberately small: GET and HEAD,
 * `Last-Modified` / `If-Modified-Since`, no directory listings, no ranges.
 *
 * Nothing outside the folder is ever served. The request path is split on
 * `/` before percent-decoding, and each decoded segment is checked:
 * - `..` (typed, or encoded as `%2e%2e`) is refused with 403;
 * - a segment that decodes to a `/`, `\` or NUL (`%2f`, `%5c`, `%00`) is
 *   refused with 403: it would be a path separator or end the name early;
 * - a segment starting with `.` (`.git`, `.env`) is hidden: 404;
 * - empty segments (`//etc/passwd`) are dropped, so an "absolute" path is
 *   just a path inside the folder, usually a 404.
 * Then the file's real path (symlinks resolved) must still lie inside the
 * folder's real path, or the answer is 404.
 */
import { open, realpath, type FileHandle } from 'node:fs/promises';
import type { Stats } from 'node:fs';
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import { join, relative, isAbsolute, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { contentTypeFor } from './content-types.js';

/** Options of serveStatic(). */
export interface StaticFilesOptions {
  /** File served for a directory (a URL ending in `/`). Default `index.html`. */
  index?: string;
  /** Cache-Control of every file. Default `no-cache`: browsers revalidate with If-Modified-Since, so edits show on reload. */
  cacheControl?: string;
}

/** Where a request path leads: the decoded segments, or the status that refuses it. */
export type ResolvedPath = { segments: string[]; directory: boolean } | { status: 400 | 403 | 404 };

/**
 * Serve the files under `root` (a path, or a `file:` URL such as
 * `new URL('public', import.meta.url)`). Returns a node:http request
 * listener: pass it as the `http` option of `createServer`, or to
 * `http.createServer`.
 */
export function serveStatic(root: string | URL, options: StaticFilesOptions = {}): RequestListener {
  const rootPath = typeof root === 'string' ? root : fileURLToPath(root);
  const index = options.index ?? 'index.html';
  const cacheControl = options.cacheControl ?? 'no-cache';

  return (request, response) => {
    serveFile(request, response, rootPath, index, cacheControl).catch((error: unknown) => {
      // An I/O error mid-way (EMFILE, EIO, the client went away...).
      if (!response.headersSent) sendStatus(response, 500, request.method === 'HEAD');
      else response.destroy(error instanceof Error ? error : undefined);
    });
  };
}

async function serveFile(request: IncomingMessage, response: ServerResponse, root: string, index: string, cacheControl: string): Promise<void> {
  const headOnly = request.method === 'HEAD';
  if (request.method !== 'GET' && !headOnly) {
    // RFC 9110 §15.5.6: a 405 "MUST generate an Allow header field".
    response.setHeader('Allow', 'GET, HEAD');
    sendStatus(response, 405, false);
    return;
  }
  const target = request.url ?? '/';
  const resolved = resolveRequestPath(target);
  if ('status' in resolved) {
    sendStatus(response, resolved.status, headOnly);
    return;
  }

  let rootReal: string;
  try {
    rootReal = await realpath(root);
  } catch {
    sendStatus(response, 404, headOnly); // the folder itself is missing
    return;
  }
  let found = await openInside(rootReal, join(rootReal, ...resolved.segments));
  if (found !== undefined && found.stats.isDirectory()) {
    await found.handle.close();
    if (!resolved.directory) {
      // `/docs` is a folder: send the browser to `/docs/` so the page's relative links resolve inside it.
      const queryAt = target.indexOf('?');
      const path = queryAt < 0 ? target : target.slice(0, queryAt);
      response.setHeader('Location', `${path}/${queryAt < 0 ? '' : target.slice(queryAt)}`);
      sendStatus(response, 301, headOnly);
      return;
    }
    found = await openInside(rootReal, join(found.path, index));
    if (found !== undefined && !found.stats.isFile()) {
      await found.handle.close();
      found = undefined;
    }
  } else if (found !== undefined && !found.stats.isFile()) {
    await found.handle.close(); // a FIFO or a device: never stream one
    found = undefined;
  }
  if (found === undefined) {
    sendStatus(response, 404, headOnly);
    return;
  }

  const { handle, stats, path } = found;
  try {
    const lastModified = new Date(Math.floor(stats.mtimeMs / 1000) * 1000);
    response.setHeader('Last-Modified', lastModified.toUTCString());
    response.setHeader('Cache-Control', cacheControl);
    // RFC 9110 §13.1.3: not modified since the date the client has (dates have one-second precision).
    const since = Date.parse(request.headers['if-modified-since'] ?? '');
    if (!Number.isNaN(since) && lastModified.getTime() <= since) {
      response.statusCode = 304;
      response.end();
      return;
    }
    response.statusCode = 200;
    response.setHeader('Content-Type', contentTypeFor(path));
    response.setHeader('Content-Length', stats.size);
    response.setHeader('X-Content-Type-Options', 'nosniff');
    if (headOnly) {
      response.end();
      return;
    }
    await pipeline(handle.createReadStream({ autoClose: false }), response);
  } finally {
    await handle.close();
  }
}

/**
 * Split a request target into decoded path segments, refusing traversal.
 * Pure: no file system access. Exported for tests.
 */
export function resolveRequestPath(target: string): ResolvedPath {
  let path: string;
  if (target.startsWith('/')) {
    const end = firstIndexOf(target, '?', '#');
    path = target.slice(0, end);
  } else {
    // absolute-form (RFC 9112 §3.2.2), e.g. from a proxy. The URL parser
    // already removes dot-segments; the checks below still apply.
    try {
      path = new URL(target).pathname;
    } catch {
      return { status: 400 };
    }
    if (!path.startsWith('/')) return { status: 400 };
  }
  const segments: string[] = [];
  const raw = path.split('/');
  for (const part of raw) {
    if (part === '') continue;
    let segment: string;
    try {
      segment = decodeURIComponent(part);
    } catch {
      return { status: 400 }; // malformed percent-encoding or UTF-8
    }
    if (segment === '..' || segment.includes('/') || segment.includes('\\') || segment.includes('\0')) return { status: 403 };
    if (segment.startsWith('.')) return { status: 404 }; // dotfiles (and `.`) are not served
    segments.push(segment);
  }
  return { segments, directory: path.endsWith('/') };
}

interface OpenFile {
  handle: FileHandle;
  stats: Stats;
  /** The real path, symlinks resolved. */
  path: string;
}

/** Open `path` if its real location lies inside `rootReal`; undefined if missing or outside. */
async function openInside(rootReal: string, path: string): Promise<OpenFile | undefined> {
  let real: string;
  try {
    real = await realpath(path);
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  if (!isInside(rootReal, real)) return undefined;
  let handle: FileHandle;
  try {
    handle = await open(real, 'r');
  } catch (error) {
    if (isMissing(error)) return undefined;
    throw error;
  }
  try {
    return { handle, stats: await handle.stat(), path: real };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

function isInside(root: string, path: string): boolean {
  const rel = relative(root, path);
  return rel === '' || (!isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`));
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  // EACCES too: a file we may not read is, to the client, a file that is not there.
  return code === 'ENOENT' || code === 'ENOTDIR' || code === 'ENAMETOOLONG' || code === 'ELOOP' || code === 'EACCES' || code === 'EISDIR';
}

const STATUS_TEXT: Readonly<Record<number, string>> = {
  301: 'Moved Permanently',
  400: 'Bad Request',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  500: 'Internal Server Error',
};

function sendStatus(response: ServerResponse, status: number, headOnly: boolean): void {
  const body = Buffer.from(`${status} ${STATUS_TEXT[status] ?? ''}\n`);
  response.statusCode = status;
  response.setHeader('Content-Type', 'text/plain; charset=utf-8');
  response.setHeader('Content-Length', body.length);
  response.setHeader('X-Content-Type-Options', 'nosniff');
  response.end(headOnly ? undefined : body);
}

function firstIndexOf(s: string, a: string, b: string): number {
  const i = s.indexOf(a);
  const j = s.indexOf(b);
  if (i < 0) return j < 0 ? s.length : j;
  return j < 0 ? i : Math.min(i, j);
}
