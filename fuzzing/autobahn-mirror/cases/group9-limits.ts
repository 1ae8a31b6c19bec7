/**
 * Group 9, Limits/Performance. Each case sends one big message (or a run of
 * round trips), waits for the echo and closes; it passes when the echo comes
 * back whole before Autobahn's deadline (WAITSECS). The mirror also checks the
 * echoed bytes, which Autobahn leaves as a FIXME.
 *
 *   9.1 / 9.2   one text / binary frame of 64 KiB … 16 MiB
 *   9.3 / 9.4   a 4 MiB text / binary message in fragments of 64 B … 4 MiB
 *   9.5 / 9.6   a 1 MiB text / binary frame written in TCP chunks of 64 … 2048 B
 *   9.7 / 9.8   1000 round trips of text / binary messages of 0 B … 4 KiB,
 *               each message sent when the previous echo has arrived
 */
import type { CaseDef, PerformanceSpec } from '../case-types.js';
import { CLEAN_NORMAL_CLOSE } from './helpers.js';

const KiB = 1024;
const MiB = 1024 * 1024;

const TEXT_PATTERN = Buffer.from('BAsd7&jh23');
const BINARY_PATTERN = Buffer.from('00fe23faf0', 'hex');

function size(n: number): string {
  return n >= MiB ? `${n / MiB} MiB` : n >= KiB ? `${n / KiB} KiB` : `${n} B`;
}

function perfCase(id: string, description: string, performance: PerformanceSpec): CaseDef {
  const kind = performance.binary ? 'binary' : 'text';
  return {
    id,
    description,
    expectation: `Receive echo'ed ${kind} message${performance.kind === 'round-trips' ? 's' : ''} (with payload as sent) within ${performance.waitSecs} s.`,
    expected: {},
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [],
    performance,
  };
}

function singleFrames(sub: 1 | 2): CaseDef[] {
  const binary = sub === 2;
  const sizes: ReadonlyArray<[number, number]> = [
    [64 * KiB, 10],
    [256 * KiB, 10],
    [1 * MiB, 10],
    [4 * MiB, 100],
    [8 * MiB, 100],
    [16 * MiB, 100],
  ];
  return sizes.map(([length, waitSecs], i) =>
    perfCase(`9.${sub}.${i + 1}`, `Send ${binary ? 'binary' : 'text'} message with payload of length ${size(length)}.`, {
      kind: 'echo-once',
      binary,
      length,
      pattern: binary ? BINARY_PATTERN : TEXT_PATTERN,
      waitSecs,
    }),
  );
}

function fragmented(sub: 3 | 4): CaseDef[] {
  const binary = sub === 4;
  const fragmentSizes = [64, 256, 1 * KiB, 4 * KiB, 16 * KiB, 64 * KiB, 256 * KiB, 1 * MiB, 4 * MiB];
  return fragmentSizes.map((fragmentSize, i) =>
    perfCase(
      `9.${sub}.${i + 1}`,
      `Send fragmented ${binary ? 'binary' : 'text'} message with message payload of length 4 MiB, in fragments of ${size(fragmentSize)} (${(4 * MiB) / fragmentSize} frames).`,
      { kind: 'echo-once', binary, length: 4 * MiB, pattern: Buffer.from(binary ? 'fe' : '2a', 'hex'), fragmentSize, waitSecs: 100 },
    ),
  );
}

function chopped(sub: 5 | 6): CaseDef[] {
  const binary = sub === 6;
  return [64, 128, 256, 512, 1024, 2048].map((chop, i) =>
    perfCase(`9.${sub}.${i + 1}`, `Send ${binary ? 'binary' : 'text'} message with payload of length 1 MiB, written in TCP chunks of ${chop} octets.`, {
      kind: 'echo-once',
      binary,
      length: 1 * MiB,
      pattern: binary ? BINARY_PATTERN : TEXT_PATTERN,
      chop,
      waitSecs: 1000,
    }),
  );
}

function roundTrips(sub: 7 | 8): CaseDef[] {
  const binary = sub === 8;
  const runs: ReadonlyArray<[number, number]> = [
    [0, 60],
    [16, 60],
    [64, 60],
    [256, 120],
    [1024, 240],
    [4096, 480],
  ];
  return runs.map(([length, waitSecs], i) =>
    perfCase(
      `9.${sub}.${i + 1}`,
      `Send 1000 ${binary ? 'binary' : 'text'} messages of payload size ${length} to measure implementation/network RTT (round trip time) / latency.`,
      { kind: 'round-trips', binary, length, count: 1000, waitSecs },
    ),
  );
}

export const GROUP_9: readonly CaseDef[] = [
  ...singleFrames(1),
  ...singleFrames(2),
  ...fragmented(3),
  ...fragmented(4),
  ...chopped(5),
  ...chopped(6),
  ...roundTrips(7),
  ...roundTrips(8),
];
