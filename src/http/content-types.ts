/**
 * Content types of the files a static handler serves, by file extension.
 *
 * A short table of what web pages are made of, not a full MIME database:
 * anything else is `application/octet-stream`, which browsers download
 * rather than guess at (the handler also sends `X-Content-Type-Options:
 * nosniff`, so no file is ever run as a script it was not declared to be).
 * Text types carry `charset=utf-8`: RFC 9110 §8.3.1 lets a recipient assume
 * otherwise, and a page with non-ASCII text would show mojibake.
 */
import { extname } from 'node:path';

/** The type sent for an extension not in the table. */
export const DEFAULT_CONTENT_TYPE = 'application/octet-stream';

const TEXT = '; charset=utf-8';

/** Lowercase extension (with its dot) → Content-Type. A Map: no prototype keys. */
const CONTENT_TYPES: ReadonlyMap<string, string> = new Map([
  // documents and code
  ['.html', `text/html${TEXT}`],
  ['.htm', `text/html${TEXT}`],
  ['.css', `text/css${TEXT}`],
  ['.js', `text/javascript${TEXT}`], // RFC 9239 §6: text/javascript is the one to use
  ['.mjs', `text/javascript${TEXT}`],
  ['.json', `application/json${TEXT}`],
  ['.map', `application/json${TEXT}`],
  ['.webmanifest', `application/manifest+json${TEXT}`],
  ['.txt', `text/plain${TEXT}`],
  ['.md', `text/markdown${TEXT}`],
  ['.csv', `text/csv${TEXT}`],
  ['.xml', `application/xml${TEXT}`],
  ['.wasm', 'application/wasm'],
  ['.pdf', 'application/pdf'],
  // images
  ['.svg', `image/svg+xml${TEXT}`],
  ['.png', 'image/png'],
  ['.jpg', 'image/jpeg'],
  ['.jpeg', 'image/jpeg'],
  ['.gif', 'image/gif'],
  ['.webp', 'image/webp'],
  ['.avif', 'image/avif'],
  ['.ico', 'image/x-icon'],
  // fonts
  ['.woff', 'font/woff'],
  ['.woff2', 'font/woff2'],
  ['.ttf', 'font/ttf'],
  ['.otf', 'font/otf'],
  // media
  ['.mp3', 'audio/mpeg'],
  ['.ogg', 'audio/ogg'],
  ['.wav', 'audio/wav'],
  ['.mp4', 'video/mp4'],
  ['.webm', 'video/webm'],
]);

/** The Content-Type for a file name, by its extension (case-insensitive). */
export function contentTypeFor(fileName: string): string {
  return CONTENT_TYPES.get(extname(fileName).toLowerCase()) ?? DEFAULT_CONTENT_TYPE;
}
