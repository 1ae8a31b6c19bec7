/**
 * Routes with parameters: `route('/rooms/:id', handler)`,
 * `route('/files/*', handler)`, matched against a request path segment by
 * segment.
 *
 * Patterns. A pattern starts with `/`; its segments (between slashes) are
 * - a literal, matched exactly against the decoded segment (`rooms`);
 * - `:name`, a parameter: any one non-empty segment, its decoded value in
 *   `params.name` (names: letters, digits, `_`);
 * - `*`, last only, a wildcard: the rest of the path after its slash, maybe
 *   empty, in `params['*']` (`/files/*` matches `/files/` and `/files/a/b`,
 *   not `/files`).
 * Paths are compared as sent, no trailing-slash or dot-segment folding:
 * `/rooms/1/` does not match `/rooms/:id`, and a wildcard's value may hold
 * `..` segments (check it before using it as a file path).
 *
 * Precedence: the most specific route wins, decided segment by segment from
 * the left: at each segment a literal beats a parameter, which beats a
 * wildcard; so of two routes that agree so far, the one that goes on with a
 * literal (or goes on at all: a longer route against a wildcard) wins.
 * `/rooms/lobby` beats `/rooms/:id` on `/rooms/lobby`, `/rooms/:id` beats
 * `/rooms/*`, `/a/b/*` beats `/a/*` on `/a/b/c`.
 *
 * Decoding. Each segment is percent-decoded as UTF-8 (RFC 3986 §2.1) after
 * the path is split on `/`, so `%2F` stays inside its segment (`/rooms/a%2Fb`
 * gives `id = 'a/b'`; a wildcard's value joins decoded segments with `/`, so
 * there the two are alike). A segment the router has to read whose escapes
 * are malformed or not UTF-8 (`%zz`, `%FF`) makes the request a 400
 * (`RouteMatchError`): the target is not a path we can read, which is not
 * the same as "not here".
 *
 * Cost. The routes form a trie, one node per pattern prefix; matching walks
 * it depth-first, literal child first, and visits each node at most once,
 * each visit a hash lookup of one segment: linear in the path's length, no
 * regular expression, no backtracking blow-up whatever the paths.
 */
import { LocalError } from '../errors.js';

/** A route that matched: its value (the handler) and the parameters. */
export interface RouteMatch<T> {
  value: T;
  params: Readonly<Record<string, string>>;
}

/** The name under which a trailing wildcard's value is in `params`. */
export const WILDCARD_PARAM = '*';

/** A path segment whose percent-escapes cannot be decoded: the request is a 400. */
export class RouteMatchError extends Error {
  constructor(readonly segment: string) {
    super(`path segment ${JSON.stringify(segment)} is not valid percent-encoded UTF-8`);
  }
}

const PARAM_NAME = /^[A-Za-z0-9_]+$/;

class RouteNode<T> {
  readonly literals = new Map<string, RouteNode<T>>();
  param: { name: string; node: RouteNode<T> } | null = null;
  /** The route ending in `*` right under this node. */
  wildcard: { value: T } | null = null;
  /** The route ending at this node. */
  route: { value: T } | null = null;
}

export class Router<T> {
  readonly #root = new RouteNode<T>();

  /** Add (or replace) the route for `pattern`. Throws LocalError WS_ERR_INVALID_ROUTE for a malformed pattern. */
  add(pattern: string, value: T): void {
    if (typeof pattern !== 'string' || !pattern.startsWith('/')) {
      throw new LocalError('WS_ERR_INVALID_ROUTE', `route patterns start with '/': ${String(pattern)}`);
    }
    const segments = pattern.slice(1).split('/');
    let node = this.#root;
    for (let i = 0; i < segments.length; i++) {
      const segment = segments[i];
      if (segment === '*') {
        if (i !== segments.length - 1) throw new LocalError('WS_ERR_INVALID_ROUTE', `a wildcard is the last segment of a pattern: ${pattern}`);
        node.wildcard = { value };
        return;
      }
      if (segment.includes('*')) throw new LocalError('WS_ERR_INVALID_ROUTE', `'*' is a segment of its own, at the end: ${pattern}`);
      if (segment.startsWith(':')) {
        const name = segment.slice(1);
        if (!PARAM_NAME.test(name)) throw new LocalError('WS_ERR_INVALID_ROUTE', `parameter names are letters, digits and '_': ${segment} in ${pattern}`);
        if (node.param === null) node.param = { name, node: new RouteNode() };
        else if (node.param.name !== name) {
          throw new LocalError('WS_ERR_INVALID_ROUTE', `${pattern}: this segment is already the parameter :${node.param.name} in another route`);
        }
        node = node.param.node;
        continue;
      }
      let next = node.literals.get(segment);
      if (next === undefined) node.literals.set(segment, (next = new RouteNode()));
      node = next;
    }
    node.route = { value };
  }

  /** The most specific route for `path` (still percent-encoded, no query), or null. Throws RouteMatchError for undecodable escapes. */
  match(path: string): RouteMatch<T> | null {
    const segments = path.slice(1).split('/');
    // Decoded lazily, once each (a segment is visited by several nodes only across routes).
    const decoded: Array<string | undefined> = new Array(segments.length);
    const values: string[] = [];
    const names: string[] = [];
    const found = this.#walk(this.#root, segments, decoded, 0, names, values);
    if (found === null) return null;
    const entries: Array<[string, string]> = names.map((name, i) => [name, values[i]]);
    if (found.rest !== undefined) entries.push([WILDCARD_PARAM, found.rest]);
    // fromEntries defines own properties: a parameter named __proto__ is just a key.
    return { value: found.value, params: Object.freeze(Object.fromEntries(entries)) };
  }

  #walk(
    node: RouteNode<T>,
    segments: string[],
    decoded: Array<string | undefined>,
    depth: number,
    names: string[],
    values: string[],
  ): { value: T; rest?: string } | null {
    if (depth === segments.length) return node.route;
    const segment = (decoded[depth] ??= decodeSegment(segments[depth]));
    const literal = node.literals.get(segment);
    if (literal !== undefined) {
      const found = this.#walk(literal, segments, decoded, depth + 1, names, values);
      if (found !== null) return found;
    }
    if (node.param !== null && segment.length > 0) {
      names.push(node.param.name);
      values.push(segment);
      const found = this.#walk(node.param.node, segments, decoded, depth + 1, names, values);
      if (found !== null) return found;
      names.pop();
      values.pop();
    }
    if (node.wildcard !== null) {
      let rest = segment;
      for (let i = depth + 1; i < segments.length; i++) rest += '/' + (decoded[i] ??= decodeSegment(segments[i]));
      return { value: node.wildcard.value, rest };
    }
    return null;
  }
}

function decodeSegment(segment: string): string {
  if (!segment.includes('%')) return segment;
  try {
    return decodeURIComponent(segment);
  } catch {
    throw new RouteMatchError(segment);
  }
}
