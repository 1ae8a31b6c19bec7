/**
 * Groups 12 and 13, WebSocket Compression (autobahntestsuite/case/case12_x_x.py).
 *
 * Every case offers permessage-deflate, then sends COUNT messages of LEN bytes
 * cut one after the other (wrapping around) from a test data file, compressed
 * and, for the last eight sizes, split into frames of AUTOFRAGSIZE bytes of
 * compressed payload. Each message is sent when the echo of the one before has
 * arrived and matched (binary flag, length, SHA-1). All echoes in time: OK;
 * a wrong echo or the deadline (WAITSECS, then we close): FAILED; the server
 * did not accept deflate: UNIMPLEMENTED (we close at once).
 *
 *   12.1–12.5   the default offer; one data set each (JSON, bitmap, German
 *               text, HTML, PDF), 18 sizes each
 *   13.1–13.7   seven offer lists on the JSON data, 18 sizes each
 *
 * The data files are generated stand-ins (see testdata.ts).
 */
import type { CaseDef } from '../case-types.js';
import { describeOffers, offersHeader, type DeflateOffer } from '../deflate.js';
import { DATA_SETS, dataSet, type DataSetName } from '../testdata.js';
import { CLEAN_NORMAL_CLOSE } from './helpers.js';

/** Autobahn's MSG_SIZES: (payload length, message count, case timeout, auto-fragment size). */
export const MSG_SIZES: ReadonlyArray<readonly [length: number, count: number, waitSecs: number, autoFragmentSize: number]> = [
  [16, 1000, 60, 0],
  [64, 1000, 60, 0],
  [256, 1000, 120, 0],
  [1024, 1000, 240, 0],
  [4096, 1000, 480, 0],
  [8192, 1000, 480, 0],
  [16384, 1000, 480, 0],
  [32768, 1000, 480, 0],
  [65536, 1000, 480, 0],
  [131072, 1000, 480, 0],

  [8192, 1000, 480, 256],
  [16384, 1000, 480, 256],
  [32768, 1000, 480, 256],
  [65536, 1000, 480, 256],
  [131072, 1000, 480, 256],
  [131072, 1000, 480, 1024],
  [131072, 1000, 480, 4096],
  [131072, 1000, 480, 32768],
];

/**
 * Group 13's client offers (Autobahn's DEFLATE_PARAMS), as
 * (requestNoContextTakeover, requestMaxWindowBits); every offer also says the
 * client accepts client_no_context_takeover and client_max_window_bits.
 */
export const DEFLATE_OFFER_SETS: ReadonlyArray<readonly DeflateOffer[]> = [
  [{}],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 0 }],
  [{ requestNoContextTakeover: false, requestMaxWindowBits: 8 }],
  [{ requestNoContextTakeover: false, requestMaxWindowBits: 15 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 8 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 15 }],
  [{ requestNoContextTakeover: true, requestMaxWindowBits: 8 }, { requestNoContextTakeover: true }, {}],
];

/** Group 13 runs on the JSON data. */
const GROUP_13_DATA: DataSetName = 'json_data1';

function compressionCase(id: string, offers: readonly DeflateOffer[], data: DataSetName, size: (typeof MSG_SIZES)[number], offerText: string): CaseDef {
  const [length, count, waitSecs, autoFragmentSize] = size;
  return {
    id,
    description: `Send ${count} compressed messages each of payload size ${length}, auto-fragment to ${autoFragmentSize} octets. Use ${offerText}`,
    expectation: `Receive echo'ed messages (with payload as sent). Timeout case after ${waitSecs} secs.`,
    expected: {},
    expectedClose: CLEAN_NORMAL_CLOSE,
    steps: [],
    compression: { offers, data, length, count, waitSecs, autoFragmentSize },
  };
}

export const GROUP_12: readonly CaseDef[] = DATA_SETS.flatMap((data, j) =>
  MSG_SIZES.map((size, i) => compressionCase(`12.${j + 1}.${i + 1}`, [{}], data.name, size, 'default permessage-deflate offer.')),
);

export const GROUP_13: readonly CaseDef[] = DEFLATE_OFFER_SETS.flatMap((offers, j) =>
  MSG_SIZES.map((size, i) =>
    compressionCase(`13.${j + 1}.${i + 1}`, offers, GROUP_13_DATA, size, `permessage-deflate client offers (requestNoContextTakeover, requestMaxWindowBits): ${describeOffers(offers)}`),
  ),
);

/** Sub-group titles as in Autobahn's report (file sizes are those of the originals, and of our stand-ins). */
export const DEFLATE_SUBGROUP_TITLES: Readonly<Record<string, string>> = Object.fromEntries([
  ...DATA_SETS.map((d, j) => [`12.${j + 1}`, `${d.description} (${d.binary ? 'binary' : 'utf8'}, ${d.size} bytes)`]),
  ...DEFLATE_OFFER_SETS.map((offers, j) => {
    const d = dataSet(GROUP_13_DATA);
    return [`13.${j + 1}`, `${d.description} (utf8, ${d.size} bytes) - client offers ${describeOffers(offers)}: ${offersHeader(offers)}`];
  }),
]);
