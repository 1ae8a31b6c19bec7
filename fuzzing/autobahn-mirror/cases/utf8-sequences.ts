/**
 * The byte sequences behind cases 6.5.x to 6.23.x: Markus Kuhn's UTF-8
 * decoder stress test (sections 1-5) plus Unicode non-characters and
 * specials, each marked valid or invalid per RFC 3629. Subcategory n (from 5)
 * becomes case ids 6.n.1, 6.n.2, ... in the order listed.
 */
import { isUtf8 } from 'node:buffer';

export interface Utf8Sequence {
  readonly valid: boolean;
  readonly bytes: Buffer;
}

export interface Utf8Category {
  readonly title: string;
  readonly sequences: readonly Utf8Sequence[];
}

const hex = (h: string): Buffer => Buffer.from(h.replace(/\s+/g, ''), 'hex');
const valid = (h: string): Utf8Sequence => ({ valid: true, bytes: hex(h) });
const invalid = (h: string): Utf8Sequence => ({ valid: false, bytes: hex(h) });
const ascii = (s: string): string => Buffer.from(s, 'latin1').toString('hex');

/** "κόσμε", the Greek word from Kuhn's test file. */
const KOSME = 'cebae1bdb9cf83cebcceb5';

function lonelyStarts(from: number, to: number): Utf8Sequence {
  // Each start byte followed by a space: "c0 20 c1 20 ... " (upper bound exclusive, as in Autobahn).
  const out: number[] = [];
  for (let b = from; b < to; b++) out.push(b, 0x20);
  return { valid: false, bytes: Buffer.from(out) };
}

const MISSING_LAST = ['c0', 'e080', 'f08080', 'f8808080', 'fc80808080', 'df', 'efbf', 'f7bfbf', 'fbbfbfbf', 'fdbfbfbfbf'];

function nonCharacters(): Utf8Sequence[] {
  const out: Utf8Sequence[] = [valid('efbfbe'), valid('efbfbf')];
  for (const z1 of ['f0', 'f1', 'f2', 'f3', 'f4']) {
    for (const z2 of ['8f', '9f', 'af', 'bf']) {
      if (z1 === 'f4' && z2 !== '8f') continue; // beyond U+10FFFF
      for (const z3 of ['be', 'bf']) {
        const seq = `${z1}${z2}bf${z3}`;
        if (seq === 'f08fbfbe' || seq === 'f08fbfbf') continue; // overlong
        out.push(valid(seq));
      }
    }
  }
  return out;
}

export const UTF8_CATEGORIES: readonly Utf8Category[] = [
  {
    title: 'Some valid UTF-8 sequences',
    sequences: [
      valid(`${ascii('hello')}24${ascii('world')}`),
      valid(`${ascii('hello')}c2a2${ascii('world')}`),
      valid(`${ascii('hello')}e282ac${ascii('world')}`),
      valid(`${ascii('hello')}f0a4ada2${ascii('world')}`),
      valid(KOSME),
    ],
  },
  {
    title: 'All prefixes of a valid UTF-8 string that contains multi-byte code points',
    sequences: Array.from({ length: KOSME.length / 2 }, (_, i) => {
      const bytes = hex(KOSME).subarray(0, i + 1);
      return { valid: isUtf8(bytes), bytes };
    }),
  },
  {
    title: 'First possible sequence of a certain length',
    sequences: [valid('00'), valid('c280'), valid('e0a080'), valid('f0908080')],
  },
  {
    title: 'First possible sequence length 5/6 (invalid codepoints)',
    sequences: [invalid('f888808080'), invalid('fc8480808080')],
  },
  {
    title: 'Last possible sequence of a certain length',
    sequences: [valid('7f'), valid('dfbf'), valid('efbfbf'), valid('f48fbfbf')],
  },
  {
    title: 'Last possible sequence length 4/5/6 (invalid codepoints)',
    sequences: [invalid('f7bfbfbf'), invalid('fbbfbfbfbf'), invalid('fdbfbfbfbfbf')],
  },
  {
    title: 'Other boundary conditions',
    sequences: [valid('ed9fbf'), valid('ee8080'), valid('efbfbd'), valid('f48fbfbf'), invalid('f4908080')],
  },
  {
    title: 'Unexpected continuation bytes',
    sequences: [
      invalid('80'),
      invalid('bf'),
      invalid('80bf'),
      invalid('80bf80'),
      invalid('80bf80bf'),
      invalid('80bf80bf80'),
      invalid('80bf80bf80bf'),
      { valid: false, bytes: Buffer.from(Array.from({ length: 0xbf - 0x80 }, (_, i) => 0x80 + i)) },
    ],
  },
  {
    title: 'Lonely start characters',
    sequences: [lonelyStarts(0xc0, 0xdf), lonelyStarts(0xe0, 0xef), lonelyStarts(0xf0, 0xf7), lonelyStarts(0xf8, 0xfb), lonelyStarts(0xfc, 0xfd)],
  },
  {
    title: 'Sequences with last continuation byte missing',
    sequences: MISSING_LAST.map(invalid),
  },
  {
    title: 'Concatenation of incomplete sequences',
    sequences: [invalid(MISSING_LAST.join(''))],
  },
  {
    title: 'Impossible bytes',
    sequences: [invalid('fe'), invalid('ff'), invalid('fefeffff')],
  },
  {
    title: 'Examples of an overlong ASCII character',
    sequences: [invalid('c0af'), invalid('e080af'), invalid('f08080af'), invalid('f8808080af'), invalid('fc80808080af')],
  },
  {
    title: 'Maximum overlong sequences',
    sequences: [invalid('c1bf'), invalid('e09fbf'), invalid('f08fbfbf'), invalid('f887bfbfbf'), invalid('fc83bfbfbfbf')],
  },
  {
    title: 'Overlong representation of the NUL character',
    sequences: [invalid('c080'), invalid('e08080'), invalid('f0808080'), invalid('f880808080'), invalid('fc8080808080')],
  },
  {
    title: 'Single UTF-16 surrogates',
    sequences: ['eda080', 'edadbf', 'edae80', 'edafbf', 'edb080', 'edbe80', 'edbfbf'].map(invalid),
  },
  {
    title: 'Paired UTF-16 surrogates',
    sequences: [
      'eda080edb080',
      'eda080edbfbf',
      'edadbfedb080',
      'edadbfedbfbf',
      'edae80edb080',
      'edae80edbfbf',
      'edafbfedb080',
      'edafbfedbfbf',
    ].map(invalid),
  },
  {
    title: 'Non-character code points (valid UTF-8)',
    sequences: nonCharacters(),
  },
  {
    title: 'Unicode specials (i.e. replacement char)',
    sequences: ['efbfb9', 'efbfba', 'efbfbb', 'efbfbc', 'efbfbd', 'efbfbe', 'efbfbf'].map(valid),
  },
];
