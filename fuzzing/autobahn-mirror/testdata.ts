/**
 * Stand-ins for the Autobahn|Testsuite compression test data
 * (autobahntestsuite/testdata/), which is not available offline: Goethe's
 * Faust I from Project Gutenberg, the Lena picture as a 512×512 8-bit BMP, a
 * scientific paper as PDF, and a large JSON and HTML file. Each stand-in is
 * generated deterministically from a fixed seed, has the byte size of the file
 * it replaces (so the case descriptions read as Autobahn's), and is built to
 * compress roughly like it:
 *
 *   json_data1       ASCII JSON records (sent as text)                  194,056 B
 *   lena512          BMP header, grey palette, a smooth noisy image     263,222 B
 *   gutenberg_faust  German verse drama in UTF-8 (sent as binary!)      222,218 B
 *   html_data1       ASCII HTML page with tables and prose (text)       263,527 B
 *   ooms             PDF-like: text content streams, binary "Flate"     1,042,328 B
 *                    streams of random bytes, xref table
 *
 * The text data sets are pure ASCII on purpose: Autobahn cuts the file into
 * messages at arbitrary byte offsets and sends them as text, which only works
 * if no cut can fall inside a multi-byte UTF-8 sequence.
 */

export type DataSetName = 'json_data1' | 'lena512' | 'gutenberg_faust' | 'html_data1' | 'ooms';

export interface DataSet {
  readonly name: DataSetName;
  /** Autobahn's description of the original file. */
  readonly description: string;
  /** Autobahn sends the file's pieces as binary messages (true) or text (false). */
  readonly binary: boolean;
  /** Byte size of the original (and of the stand-in). */
  readonly size: number;
}

/** In the order Autobahn's report lists them as 12.1 … 12.5. */
export const DATA_SETS: readonly DataSet[] = [
  { name: 'json_data1', description: 'Large JSON data file', binary: false, size: 194_056 },
  { name: 'lena512', description: 'Lena Picture, Bitmap 512x512 bw', binary: true, size: 263_222 },
  { name: 'gutenberg_faust', description: "Human readable text, Goethe's Faust I (German)", binary: true, size: 222_218 },
  { name: 'html_data1', description: 'Large HTML file', binary: false, size: 263_527 },
  { name: 'ooms', description: 'A larger PDF', binary: true, size: 1_042_328 },
];

export function dataSet(name: DataSetName): DataSet {
  const found = DATA_SETS.find((d) => d.name === name);
  if (found === undefined) throw new Error(`unknown data set ${name}`);
  return found;
}

const cache = new Map<DataSetName, Buffer>();

/** The bytes of a data set (generated on first use, then cached). */
export function testData(name: DataSetName): Buffer {
  let data = cache.get(name);
  if (data === undefined) {
    const { size } = dataSet(name);
    data = GENERATORS[name](size);
    if (data.length !== size) throw new Error(`test data ${name}: generated ${data.length} bytes, wanted ${size}`);
    cache.set(name, data);
  }
  return data;
}

const GENERATORS: Record<DataSetName, (size: number) => Buffer> = {
  json_data1: makeJson,
  lena512: makeBitmap,
  gutenberg_faust: makeFaust,
  html_data1: makeHtml,
  ooms: makePdf,
};

// ---------------------------------------------------------------- randomness

/** mulberry32: a small seeded PRNG, so every run sends the same bytes. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    let t = (this.state = (this.state + 0x6d2b79f5) >>> 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  pick<T>(list: readonly T[]): T {
    return list[this.int(list.length)];
  }
  /** Favour the head of the list, as word frequencies in real text do. */
  zipf<T>(list: readonly T[]): T {
    const r = this.next();
    return list[Math.floor(r * r * r * list.length)];
  }
  bytes(n: number): Buffer {
    const out = Buffer.allocUnsafe(n);
    for (let i = 0; i < n; i++) out[i] = (this.next() * 256) | 0;
    return out;
  }
}

/** `text` cut or padded with `filler` words to exactly `length` characters (ASCII). */
function fitAscii(rng: Rng, length: number, words: readonly string[]): string {
  let s = '';
  while (s.length < length) s += (s.length === 0 ? '' : ' ') + rng.zipf(words);
  return s.slice(0, length).replace(/ $/, '.');
}

const LOREM = (
  'the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there ' +
  'would their we him been has when who will more no if out so said what up its about into than them can only other new some could time ' +
  'these two may then do first any my now such like our over man me even most made after also did many before must through back years ' +
  'where much your way well down should because each just those people how too little state good very make world still own see men work ' +
  'long get here between both life being under never day same another know while last might us great old year off come since against go ' +
  'came right used take three protocol message server client frame payload compression window context buffer socket stream handshake'
).split(' ');

// ---------------------------------------------------------------- JSON

function makeJson(size: number): Buffer {
  const rng = new Rng(0x4a534f4e);
  const first = ['Alice', 'Bruno', 'Chen', 'Dana', 'Emil', 'Farah', 'Goran', 'Hana', 'Ivan', 'Jules', 'Kofi', 'Lena', 'Mateo', 'Nora', 'Omar', 'Priya'];
  const last = ['Anderson', 'Becker', 'Castillo', 'Dubois', 'Eriksen', 'Fischer', 'Garcia', 'Hoffmann', 'Ito', 'Jansen', 'Kowalski', 'Larsen', 'Moreau'];
  const companies = ['ZILLAN', 'QUOTEZART', 'ACRUEX', 'ORBIFLEX', 'GEEKWAGON', 'COMTRAIL', 'ISOLOGIA', 'EXOSPEED', 'NETPLODE', 'VIRVA'];
  const streets = ['Linden Street', 'Harbor Avenue', 'Maple Court', 'Sunset Boulevard', 'Church Lane', 'Mill Road', 'Garden Place'];
  const cities = ['Springfield', 'Riverton', 'Lakeside', 'Fairview', 'Greenville', 'Bristol', 'Clayton', 'Madison'];
  const fruits = ['apple', 'banana', 'strawberry', 'cherry'];
  const colors = ['blue', 'brown', 'green', 'grey'];
  const hex = (n: number): string => Array.from({ length: n }, () => '0123456789abcdef'[rng.int(16)]).join('');
  const record = (id: number, about: string | null): string => {
    const name = `${rng.pick(first)} ${rng.pick(last)}`;
    const company = rng.pick(companies);
    const tags = Array.from({ length: 3 + rng.int(5) }, () => `"${rng.zipf(LOREM)}"`);
    const friends = Array.from({ length: 2 + rng.int(3) }, (_, i) => `      {\n        "id": ${i},\n        "name": "${rng.pick(first)} ${rng.pick(last)}"\n      }`);
    const aboutText = about ?? fitAscii(rng, 120 + rng.int(300), LOREM);
    return [
      '  {',
      `    "_id": "${hex(24)}",`,
      `    "index": ${id},`,
      `    "guid": "${hex(8)}-${hex(4)}-${hex(4)}-${hex(4)}-${hex(12)}",`,
      `    "isActive": ${rng.next() < 0.5},`,
      `    "balance": "$${1000 + rng.int(3000)}.${String(rng.int(100)).padStart(2, '0')}",`,
      '    "picture": "http://placehold.it/32x32",',
      `    "age": ${20 + rng.int(45)},`,
      `    "eyeColor": "${rng.pick(colors)}",`,
      `    "name": "${name}",`,
      `    "company": "${company}",`,
      `    "email": "${name.split(' ')[0].toLowerCase()}.${name.split(' ')[1].toLowerCase()}@${company.toLowerCase()}.com",`,
      `    "phone": "+1 (${800 + rng.int(200)}) ${100 + rng.int(900)}-${1000 + rng.int(9000)}",`,
      `    "address": "${100 + rng.int(900)} ${rng.pick(streets)}, ${rng.pick(cities)}, ${10000 + rng.int(89999)}",`,
      `    "about": "${aboutText}",`,
      `    "registered": "20${10 + rng.int(15)}-0${1 + rng.int(9)}-${10 + rng.int(18)}T0${rng.int(10)}:${10 + rng.int(50)}:${10 + rng.int(50)} -01:00",`,
      `    "latitude": ${(rng.next() * 180 - 90).toFixed(6)},`,
      `    "longitude": ${(rng.next() * 360 - 180).toFixed(6)},`,
      `    "tags": [${tags.join(', ')}],`,
      `    "friends": [\n${friends.join(',\n')}\n    ],`,
      `    "greeting": "Hello, ${name}! You have ${rng.int(20)} unread messages.",`,
      `    "favoriteFruit": "${rng.pick(fruits)}"`,
      '  }',
    ].join('\n');
  };
  const parts: string[] = [];
  let length = 2; // "[\n"
  let id = 0;
  while (length < size - 4000) {
    const r = record(id++, null);
    parts.push(r);
    length += r.length + 2; // ",\n"
  }
  // The last record's "about" takes up exactly the bytes that are left.
  const tail = record(id, '@@ABOUT@@');
  const fixed = 2 + parts.reduce((n, p) => n + p.length + 2, 0) + tail.length - '@@ABOUT@@'.length + 2; // "\n]\n" minus one
  const about = fitAscii(rng, size - fixed - 1, LOREM);
  const text = `[\n${[...parts, tail.replace('@@ABOUT@@', about)].join(',\n')}\n]\n`;
  return Buffer.from(text, 'latin1');
}

// ---------------------------------------------------------------- HTML

function makeHtml(size: number): Buffer {
  const rng = new Rng(0x48544d4c);
  const sentence = (): string => {
    const s = fitAscii(rng, 40 + rng.int(120), LOREM);
    return s.charAt(0).toUpperCase() + s.slice(1).replace(/[. ]*$/, '.');
  };
  const head = [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '  <meta charset="utf-8">',
    '  <meta name="viewport" content="width=device-width, initial-scale=1">',
    '  <title>Quarterly Report - Network Operations</title>',
    '  <link rel="stylesheet" href="/static/css/main.css">',
    '  <style>',
    '    body { font-family: Helvetica, Arial, sans-serif; margin: 0; padding: 0; color: #222; }',
    '    table.data { border-collapse: collapse; width: 100%; }',
    '    table.data td, table.data th { border: 1px solid #ccc; padding: 4px 8px; text-align: right; }',
    '    .nav a { color: #06c; text-decoration: none; margin-right: 1em; }',
    '  </style>',
    '</head>',
    '<body>',
    '  <div class="nav">',
    ...Array.from({ length: 12 }, (_, i) => `    <a href="/section/${i}" class="nav-link" title="Section ${i}">Section ${i}</a>`),
    '  </div>',
  ].join('\n');
  const parts: string[] = [head];
  let length = head.length;
  const end = '\n</body>\n</html>\n';
  let section = 0;
  while (length < size - 3000) {
    const block: string[] = [`  <div class="section" id="s${section}">`, `    <h2 class="title">${section + 1}. ${sentence()}</h2>`];
    for (let p = 0; p < 2 + rng.int(4); p++) {
      block.push(`    <p class="body">${Array.from({ length: 2 + rng.int(4) }, sentence).join(' ')} <a href="/ref/${rng.int(1000)}">[${rng.int(99)}]</a></p>`);
    }
    if (rng.next() < 0.6) {
      block.push('    <table class="data">', '      <tr><th>Host</th><th>Region</th><th>Requests</th><th>Errors</th><th>Latency (ms)</th></tr>');
      for (let r = 0; r < 4 + rng.int(12); r++) {
        block.push(
          `      <tr><td class="host">srv-${rng.int(64)}.example.net</td><td>${rng.pick(['eu-west', 'us-east', 'ap-south', 'sa-east'])}</td><td>${rng.int(100000)}</td><td>${rng.int(500)}</td><td>${(rng.next() * 200).toFixed(2)}</td></tr>`,
        );
      }
      block.push('    </table>');
    } else {
      block.push('    <ul class="list">');
      for (let r = 0; r < 3 + rng.int(8); r++) block.push(`      <li><a href="/item/${rng.int(5000)}">${sentence()}</a></li>`);
      block.push('    </ul>');
    }
    block.push('  </div>');
    const text = block.join('\n');
    parts.push(text);
    length += text.length + 1;
    section++;
  }
  const body = parts.join('\n');
  const commentOverhead = '\n  <!--  -->'.length;
  const filler = fitAscii(rng, size - body.length - end.length - commentOverhead, LOREM).replace(/--/g, '- ');
  return Buffer.from(`${body}\n  <!-- ${filler} -->${end}`, 'latin1');
}

// ---------------------------------------------------------------- Faust

function makeFaust(size: number): Buffer {
  const rng = new Rng(0x46415553);
  const words = (
    'und die der ich nicht das zu ist ein mich mir sich du es so mit den wie was auf in dem ihr sie er an nur wohl noch ' +
    'doch auch wenn hab dich dir mein nun sein wird sind was schon soll kann muß will mag ganz gar hier dort all ' +
    'Welt Herz Geist Nacht Himmel Erde Leben Tag Gott Teufel Blut Seele Liebe Kraft Natur Wissen Buch Zeit Mann Frau ' +
    'Fräulein Schöne Mädchen Mutter Bruder Herr Meister Schüler Tür Stube Garten Kirche Brunnen Kerker Straße Hexe ' +
    'schön süß früh spät groß klein wahr hoch tief alt jung froh müde böse ewig heilig fröhlich traurig herrlich ' +
    'gehen kommen sehen hören fühlen wissen glauben lieben leben sterben träumen schweben glühen blühen grüßen ' +
    'möcht möchte könnt müßt hätt wär würd trüb Glück Träne Flamme Sonne Mond Stern Wolke Blüte Rose Tränen ' +
    'über für vor zurück hinweg herbei hinaus daß weil ob bis während gegen ohne durch um wider'
  ).split(' ');
  const speakers = ['FAUST', 'MEPHISTOPHELES', 'MARGARETE', 'WAGNER', 'MARTHE', 'SCHÜLER', 'CHOR DER ENGEL', 'VALENTIN', 'HEXE'];
  const places = [
    'Nacht. In einem hochgewölbten, engen gotischen Zimmer',
    'Vor dem Tor',
    'Studierzimmer',
    'Auerbachs Keller in Leipzig',
    'Hexenküche',
    'Straße',
    'Abend. Ein kleines reinliches Zimmer',
    'Garten',
    'Ein Gartenhäuschen',
    'Wald und Höhle',
    'Gretchens Stube',
    'Marthens Garten',
    'Am Brunnen',
    'Zwinger',
    'Dom',
    'Walpurgisnacht',
    'Trüber Tag. Feld',
    'Kerker',
  ];
  const verse = (): string => {
    const n = 5 + rng.int(6);
    const line = Array.from({ length: n }, () => rng.zipf(words)).join(' ');
    const end = rng.pick([',', ',', ';', '.', '!', '?', ':', '']);
    return `  ${line.charAt(0).toUpperCase()}${line.slice(1)}${end}`;
  };
  const lines: string[] = [
    'The Project Gutenberg EBook of Faust: Der Tragödie erster Teil, by Johann Wolfgang von Goethe',
    '',
    'This eBook is for the use of anyone anywhere at no cost and with almost no restrictions whatsoever.',
    '',
    'Title: Faust: Der Tragödie erster Teil',
    'Author: Johann Wolfgang von Goethe',
    'Language: German',
    '',
    '',
    'Zueignung.',
    '',
  ];
  let length = Buffer.byteLength(lines.join('\n'), 'utf8');
  let scene = 0;
  while (length < size) {
    const block: string[] = [];
    if (rng.next() < 0.06) {
      block.push('', '', places[scene++ % places.length], '');
      if (rng.next() < 0.5) block.push(`${rng.pick(speakers)} (${Array.from({ length: 4 + rng.int(8) }, () => rng.zipf(words)).join(' ')}).`, '');
    }
    block.push(`${rng.pick(speakers)}:`);
    for (let i = 0; i < 2 + rng.int(10); i++) block.push(verse());
    block.push('');
    const text = block.join('\n');
    lines.push(text);
    length += Buffer.byteLength(text, 'utf8') + 1;
  }
  // Cut at the byte size of the original; the data is sent as binary, so a cut inside a sequence is harmless.
  return Buffer.from(lines.join('\n'), 'utf8').subarray(0, size);
}

// ---------------------------------------------------------------- bitmap

function makeBitmap(size: number): Buffer {
  const rng = new Rng(0x4c454e41);
  const width = 512;
  const height = 512;
  const paletteOffset = 14 + 40;
  const pixelOffset = paletteOffset + 256 * 4;
  const out = Buffer.alloc(pixelOffset + width * height);
  if (out.length !== size) throw new Error(`bitmap layout gives ${out.length} bytes, not ${size}`);
  // BITMAPFILEHEADER
  out.write('BM', 0, 'latin1');
  out.writeUInt32LE(out.length, 2);
  out.writeUInt32LE(pixelOffset, 10);
  // BITMAPINFOHEADER: 512×512, 8 bits per pixel, uncompressed, 256 grey levels
  out.writeUInt32LE(40, 14);
  out.writeInt32LE(width, 18);
  out.writeInt32LE(height, 22);
  out.writeUInt16LE(1, 26);
  out.writeUInt16LE(8, 28);
  out.writeUInt32LE(0, 30);
  out.writeUInt32LE(width * height, 34);
  out.writeInt32LE(2835, 38);
  out.writeInt32LE(2835, 42);
  out.writeUInt32LE(256, 46);
  out.writeUInt32LE(256, 50);
  for (let i = 0; i < 256; i++) {
    out[paletteOffset + i * 4] = i;
    out[paletteOffset + i * 4 + 1] = i;
    out[paletteOffset + i * 4 + 2] = i;
  }
  // A photo-like picture: soft shapes and gradients, some texture, sensor noise.
  const blobs = Array.from({ length: 14 }, () => ({
    x: rng.next() * width,
    y: rng.next() * height,
    r: 30 + rng.next() * 140,
    v: rng.next() * 120 - 60,
  }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      let v = 110 + 50 * Math.sin(x / 61) * Math.cos(y / 47) + 0.08 * (x - y);
      for (const b of blobs) {
        const d2 = ((x - b.x) ** 2 + (y - b.y) ** 2) / (b.r * b.r);
        if (d2 < 4) v += b.v * Math.exp(-d2);
      }
      v += 9 * Math.sin((x * 0.9 + y * 0.4) / 3.1) * (y > 300 ? 1 : 0.2); // texture in the lower part
      v += (rng.next() - 0.5) * 10; // noise
      out[pixelOffset + y * width + x] = Math.max(0, Math.min(255, Math.round(v)));
    }
  }
  return out;
}

// ---------------------------------------------------------------- PDF

function makePdf(size: number): Buffer {
  const rng = new Rng(0x4f4f4d53);
  const chunks: Buffer[] = [];
  const offsets: number[] = [];
  let length = 0;
  const push = (b: Buffer | string): void => {
    const buf = typeof b === 'string' ? Buffer.from(b, 'latin1') : b;
    chunks.push(buf);
    length += buf.length;
  };
  push('%PDF-1.4\n%\xe2\xe3\xcf\xd3\n');
  const object = (body: string, stream?: Buffer): void => {
    offsets.push(length);
    const id = offsets.length;
    if (stream === undefined) {
      push(`${id} 0 obj\n${body}\nendobj\n`);
    } else {
      push(`${id} 0 obj\n${body.replace('@LEN@', String(stream.length))}\nstream\n`);
      push(stream);
      push('\nendstream\nendobj\n');
    }
  };
  object('<< /Type /Catalog /Pages 2 0 R >>');
  object('<< /Type /Pages /Kids [] /Count 0 >>');
  object('<< /Type /Font /Subtype /Type1 /BaseFont /Times-Roman /Encoding /WinAnsiEncoding >>');
  // Room kept for the largest page (about 24 KiB) and the xref table (20 bytes an object).
  const room = (): number => 32 * 1024 + 20 * offsets.length;
  while (length + room() < size) {
    // A page: its content stream as readable PDF operators…
    const ops: string[] = ['BT', '/F1 10 Tf', '12 TL', '72 740 Td'];
    for (let l = 0; l < 20 + rng.int(40); l++) {
      ops.push(`(${fitAscii(rng, 40 + rng.int(50), LOREM).replace(/[()\\]/g, '')}) Tj T*`);
      if (rng.next() < 0.1) ops.push(`${(rng.next() * 2).toFixed(3)} Tw`);
    }
    ops.push('ET');
    const content = Buffer.from(ops.join('\n'), 'latin1');
    object(`<< /Type /Page /Parent 2 0 R /Resources << /Font << /F1 3 0 R >> >> /Contents ${offsets.length + 2} 0 R /MediaBox [0 0 612 792] >>`);
    object('<< /Length @LEN@ >>', content);
    // …and now and then an embedded image or font, already compressed: random bytes.
    if (rng.next() < 0.7) {
      const n = 2000 + rng.int(14000);
      object(`<< /Type /XObject /Subtype /Image /Width ${64 + rng.int(512)} /Height ${64 + rng.int(512)} /BitsPerComponent 8 /ColorSpace /DeviceRGB /Filter /FlateDecode /Length @LEN@ >>`, rng.bytes(n));
    }
  }
  // Comment lines fill the gap, so that the file with its xref table has exactly `size` bytes.
  const xref = (start: number): string => {
    const table = offsets.map((o) => `${String(o).padStart(10, '0')} 00000 n \n`).join('');
    return `xref\n0 ${offsets.length + 1}\n0000000000 65535 f \n${table}trailer\n<< /Size ${offsets.length + 1} /Root 1 0 R >>\nstartxref\n${start}\n%%EOF\n`;
  };
  const start = size - xref(size).length; // the xref table starts where it must end up; its length does not depend on the digits of a 7-digit start
  if (xref(start).length !== size - start) throw new Error('PDF stand-in: xref length changed with its offset');
  while (start - length >= 84) push(`%${fitAscii(rng, 80, LOREM)}\n`);
  const gap = start - length;
  if (gap >= 2) push(`%${fitAscii(rng, gap - 2, LOREM)}\n`);
  else if (gap === 1) push('\n');
  push(xref(start));
  return Buffer.concat(chunks, length);
}
