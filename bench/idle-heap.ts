// What ONE idle server connection holds, object by object: a heap-snapshot diff.
//
// Starts a bench echo server (bench/servers/NAME.ts) with --heapsnapshot-signal, opens `--warm`
// connections (so that lazily compiled code and shared state exist), takes snapshot A, opens
// `--conns` more idle connections (upgrade only, no frame), takes snapshot B, and prints, per
// connection, what B holds beyond A: objects grouped by kind and constructor (or closure name),
// with their count and self size. A snapshot is taken after a full GC, so this is what the
// connections *retain*; `npm run bench -- --only IDLE` measures RSS, which also counts the
// garbage the handshakes left and malloc'd native memory that no snapshot shows. The server's
// process.memoryUsage() (heapUsed, external, arrayBuffers) and RSS are printed at A and B too.
//
//   node --import tsx bench/idle-heap.ts --server ours --conns 2000 [--top 40]
//   node --import tsx bench/idle-heap.ts --server raw
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { WS_ACCEPT, WS_KEY, procRssKiB } from './common.js';
import { ROOT, benchNode } from './harness.js';

const { values: a } = parseArgs({
  options: {
    server: { type: 'string', default: 'ours' },
    conns: { type: 'string', default: '2000' },
    warm: { type: 'string', default: '200' },
    top: { type: 'string', default: '40' },
    explain: { type: 'string' }, // a constructor name: print what one new instance holds (new objects only)
    depth: { type: 'string', default: '3' },
    retainers: { type: 'string' }, // "type:name" keys: who holds the new ones (edge name <- holder), counted
  },
});
const CONNS = Number(a.conns);
const WARM = Number(a.warm);
const TOP = Number(a.top);

const dir = mkdtempSync(join(tmpdir(), 'idle-heap-'));
const [node, ...nodeArgs] = benchNode(`bench/servers/${a.server}.ts`, [], ['--heapsnapshot-signal=SIGUSR2']);
const server = spawn(node, nodeArgs, {
  cwd: ROOT,
  env: { ...process.env, BENCH_CHILD: '1', NODE_OPTIONS: '' },
  stdio: ['pipe', 'pipe', 'inherit'],
});
// The server writes its snapshots into its cwd: run it from the repo, move them by name.
const port: number = await new Promise((resolve, reject) => {
  let out = '';
  server.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    const nl = out.indexOf('\n');
    if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)).port);
  });
  server.on('exit', (code) => reject(new Error(`server exited (${code})`)));
});
const pid = server.pid!;

const sockets: net.Socket[] = [];
const REQUEST = `GET / HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`;

function openOne(): Promise<void> {
  return new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1');
    let head = '';
    const onData = (d: Buffer): void => {
      head += d.toString('latin1');
      if (!head.includes('\r\n\r\n')) return;
      s.off('data', onData);
      if (!head.startsWith('HTTP/1.1 101') || !head.includes(WS_ACCEPT)) reject(new Error(`bad answer: ${head}`));
      else resolve();
    };
    s.on('data', onData);
    s.on('error', reject);
    s.on('connect', () => s.write(REQUEST));
    sockets.push(s);
  });
}

async function open(n: number): Promise<void> {
  const batch = 100;
  for (let i = 0; i < n; i += batch) await Promise.all(Array.from({ length: Math.min(batch, n - i) }, openOne));
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Signal the server for a snapshot and wait for the file to be complete. */
async function snapshot(): Promise<string> {
  const before = new Set(readdirSync(ROOT).filter((f) => f.endsWith('.heapsnapshot')));
  const rss = procRssKiB(pid);
  process.kill(pid, 'SIGUSR2');
  for (;;) {
    await sleep(200);
    const fresh = readdirSync(ROOT).filter((f) => f.endsWith('.heapsnapshot') && !before.has(f));
    if (fresh.length === 0) continue;
    const file = join(ROOT, fresh[0]);
    // Complete once it parses (it is written in pieces).
    try {
      JSON.parse(readFileSync(file, 'utf8'));
    } catch {
      continue;
    }
    const target = join(dir, fresh[0]);
    rmSync(target, { force: true });
    const text = readFileSync(file, 'utf8');
    rmSync(file);
    console.log(`  snapshot: ${(text.length / 2 ** 20).toFixed(1)} MiB, server RSS ${(rss / 1024).toFixed(1)} MiB`);
    return text;
  }
}

/**
 * A V8 heap snapshot (.heapsnapshot JSON) in its flat form: `nodes` and `edges` are arrays of
 * F and E numbers per node and edge; iType, jTo... are the offsets of a field within one, the
 * type names and strings are tables those fields index. edgeName(e): the edge's property name,
 * or `[index]` for an element or hidden edge.
 */
function parseHeapSnapshot(text: string) {
  const snap = JSON.parse(text);
  const meta = snap.snapshot.meta;
  const nf: string[] = meta.node_fields;
  const ef: string[] = meta.edge_fields;
  const types: string[] = meta.node_types[0];
  const etypes: string[] = meta.edge_types[0];
  const [iType, iName, iId, iSize, iEc] = ['type', 'name', 'id', 'self_size', 'edge_count'].map((f) => nf.indexOf(f));
  const [jType, jName, jTo] = ['type', 'name_or_index', 'to_node'].map((f) => ef.indexOf(f));
  const nodes: number[] = snap.nodes;
  const edges: number[] = snap.edges;
  const strings: string[] = snap.strings;
  const edgeName = (e: number): string => {
    const et = etypes[edges[e + jType]];
    return et === 'element' || et === 'hidden' ? `[${edges[e + jName]}]` : strings[edges[e + jName]];
  };
  return { types, etypes, F: nf.length, E: ef.length, iType, iName, iId, iSize, iEc, jType, jName, jTo, nodes, edges, strings, edgeName };
}

/**
 * The objects one new instance of `ctor` (created after snapshot A: a higher id) holds, as a
 * tree of its edges to objects that are also new, `depth` levels deep: the per-connection
 * accounting, field by field.
 */
function explain(text: string, maxIdA: number, ctor: string, depth: number): void {
  const { types, etypes, F, E, iType, iName, iId, iSize, iEc, jType, jTo, nodes, edges, strings, edgeName } = parseHeapSnapshot(text);
  const firstEdge: number[] = [];
  for (let i = 0, e = 0; i < nodes.length; i += F) {
    firstEdge.push(e);
    e += nodes[i + iEc] * E;
  }
  let root = -1;
  for (let i = nodes.length - F; i >= 0; i -= F) {
    if (types[nodes[i + iType]] === 'object' && strings[nodes[i + iName]] === ctor && nodes[i + iId] > maxIdA) {
      root = i;
      break;
    }
  }
  if (root < 0) return console.log(`no new ${ctor}`);
  const seen = new Set<number>();
  const label = (i: number): string => {
    const t = types[nodes[i + iType]];
    let n = strings[nodes[i + iName]] ?? '';
    if (n.length > 40) n = n.slice(0, 40) + '…';
    return `${t}:${JSON.stringify(n)} ${nodes[i + iSize]} B`;
  };
  const walk = (i: number, indent: string, level: number): void => {
    if (level >= depth) return;
    const start = firstEdge[i / F];
    for (let k = 0; k < nodes[i + iEc]; k++) {
      const e = start + k * E;
      const et = etypes[edges[e + jType]];
      if (et === 'weak') continue;
      const to = edges[e + jTo];
      if (nodes[to + iId] <= maxIdA || seen.has(to)) continue;
      seen.add(to);
      const name = edgeName(e);
      console.log(`${indent}${name} -> ${label(to)}`);
      walk(to, indent + '  ', level + 1);
    }
  };
  console.log(`\n${label(root)}`);
  seen.add(root);
  walk(root, '  ', 0);
}

/** For every new node of `key` ("type:name"), its holders: a count per "edge <- holder type:name". */
function retainers(text: string, maxIdA: number, key: string): void {
  const { types, etypes, F, E, iType, iName, iId, iEc, jType, jTo, nodes, edges, strings, edgeName } = parseHeapSnapshot(text);
  const keyOf = (i: number): string => `${types[nodes[i + iType]]}:${strings[nodes[i + iName]]}`;
  const counts = new Map<string, number>();
  let targets = 0;
  for (let i = 0, e = 0; i < nodes.length; i += F) {
    const ec = nodes[i + iEc];
    for (let k = 0; k < ec; k++, e += E) {
      const to = edges[e + jTo];
      if (nodes[to + iId] <= maxIdA || etypes[edges[e + jType]] === 'weak') continue;
      const tk = types[nodes[to + iType]] === 'string' ? 'string:' : keyOf(to);
      if (tk !== key) continue;
      const name = edgeName(e);
      let holder = keyOf(i);
      if (holder.length > 70) holder = holder.slice(0, 70) + '…';
      const c = `${name} <- ${holder}`;
      counts.set(c, (counts.get(c) ?? 0) + 1);
      targets++;
    }
  }
  console.log(`\nholders of new ${key} (${targets} edges):`);
  for (const [c, n] of [...counts].sort((x, y) => y[1] - x[1]).slice(0, 25)) console.log(`${String(n).padStart(8)}  ${c}`);
}

function maxId(text: string): number {
  const snap = JSON.parse(text);
  const nf: string[] = snap.snapshot.meta.node_fields;
  const F = nf.length;
  const iId = nf.indexOf('id');
  const iType = nf.indexOf('type');
  const types: string[] = snap.snapshot.meta.node_types[0];
  let m = 0;
  // (Embedder nodes, native and synthetic, get ids of their own kind.)
  for (let i = 0; i < snap.nodes.length; i += F) {
    const t = types[snap.nodes[i + iType]];
    if (t !== 'native' && t !== 'synthetic') m = Math.max(m, snap.nodes[i + iId]);
  }
  return m;
}

interface Group {
  count: number;
  bytes: number;
}

/** Self size and count per "type:name" (name: constructor of an object, name of a closure...). */
function groups(text: string): Map<string, Group> {
  const snap = JSON.parse(text);
  const meta = snap.snapshot.meta;
  const fields: string[] = meta.node_fields;
  const types: string[] = meta.node_types[0];
  const F = fields.length;
  const iType = fields.indexOf('type');
  const iName = fields.indexOf('name');
  const iSize = fields.indexOf('self_size');
  const nodes: number[] = snap.nodes;
  const strings: string[] = snap.strings;
  const out = new Map<string, Group>();
  for (let i = 0; i < nodes.length; i += F) {
    const type = types[nodes[i + iType]];
    let name = type === 'string' || type === 'concatenated string' || type === 'sliced string' || type === 'number' ? '' : strings[nodes[i + iName]];
    if (type === 'code') name = '';
    if (name.length > 60) name = name.slice(0, 60) + '…';
    const key = `${type}:${name}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += nodes[i + iSize];
    out.set(key, g);
  }
  return out;
}

try {
  console.log(`server ${a.server} (pid ${pid}), port ${port}: ${WARM} warm-up connections, then ${CONNS}`);
  await open(WARM);
  await sleep(500);
  const textA = await snapshot();
  const A = groups(textA);
  const maxIdA = maxId(textA);
  await open(CONNS);
  await sleep(1000);
  const textB = await snapshot();
  const B = groups(textB);
  const rows: Array<[string, number, number]> = [];
  let total = 0;
  for (const [key, g] of B) {
    const g0 = A.get(key) ?? { count: 0, bytes: 0 };
    const dc = (g.count - g0.count) / CONNS;
    const db = (g.bytes - g0.bytes) / CONNS;
    total += db;
    if (Math.abs(db) >= 2 || Math.abs(dc) >= 0.5) rows.push([key, dc, db]);
  }
  for (const [key, g0] of A) if (!B.has(key)) total -= g0.bytes / CONNS;
  rows.sort((x, y) => y[2] - x[2]);
  console.log(`\nretained per connection: ${total.toFixed(0)} B (all heap-snapshot nodes)\n`);
  console.log('   objects/conn   bytes/conn  kind:constructor');
  for (const [key, dc, db] of rows.slice(0, TOP)) console.log(`${dc.toFixed(2).padStart(15)} ${db.toFixed(1).padStart(12)}  ${key}`);
  if (a.retainers !== undefined) for (const key of a.retainers.split(',')) retainers(textB, maxIdA, key);
  if (a.explain !== undefined) for (const ctor of a.explain.split(',')) explain(textB, maxIdA, ctor, Number(a.depth));
} finally {
  for (const s of sockets) s.destroy();
  server.kill();
  rmSync(dir, { recursive: true, force: true });
}
