/** The whole table, in Autobahn's case order: groups 1-7, 9, 10, 12 and 13 (all of Autobahn's fuzzingclient cases). */
import type { CaseDef } from '../case-types.js';
import { GROUP_1 } from './group1-framing.js';
import { GROUP_10 } from './group10-misc.js';
import { GROUP_12, GROUP_13 } from './group12-13-deflate.js';
import { GROUP_2 } from './group2-pings.js';
import { GROUP_3 } from './group3-reserved-bits.js';
import { GROUP_4 } from './group4-opcodes.js';
import { GROUP_5 } from './group5-fragmentation.js';
import { GROUP_6 } from './group6-utf8.js';
import { GROUP_7 } from './group7-close.js';
import { GROUP_9 } from './group9-limits.js';

export const ALL_CASES: readonly CaseDef[] = [
  ...GROUP_1,
  ...GROUP_2,
  ...GROUP_3,
  ...GROUP_4,
  ...GROUP_5,
  ...GROUP_6,
  ...GROUP_7,
  ...GROUP_9,
  ...GROUP_10,
  ...GROUP_12,
  ...GROUP_13,
];

export const GROUP_TITLES: Readonly<Record<string, string>> = {
  '1': 'Framing',
  '2': 'Pings/Pongs',
  '3': 'Reserved Bits',
  '4': 'Opcodes',
  '5': 'Fragmentation',
  '6': 'UTF-8 Handling',
  '7': 'Close Handling',
  '9': 'Limits/Performance',
  '10': 'Misc',
  '12': 'Deflate (payloads)',
  '13': 'Deflate (parameters)',
};
