/**
 * The standing at a glance: an SVG bar chart of a run of `npm run bench`
 * (its results.json), one group of bars per scenario, one bar per server
 * (ours, ws, raw), each scaled to the largest figure of its scenario and
 * labelled with its median and its ratio to `ws`. Lower-is-better scenarios
 * (memory, CPU) say so in their label. No dependency: the SVG is written by
 * hand.
 *
 * run.ts writes it after every run (`--svg`, default bench/results.svg);
 * by hand:
 *
 *   npx tsx bench/plot.ts [bench/results.json] [out.svg]
 */
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

/** The parts of results.json the plot reads. */
export interface RunResults {
  date: string;
  machine: { cpu: string; cores: number; node: string };
  scenarios: Array<{
    id: string;
    title: string;
    unit: string;
    higher_is_better: boolean;
    results: Record<string, { median: number | null } | null>;
  }>;
}

const COLORS: Record<string, string> = { ours: '#2b6cb0', ws: '#dd6b20', raw: '#718096' };
const WIDTH = 820;
const LABEL_WIDTH = 300;
const BAR_AREA = WIDTH - LABEL_WIDTH - 150;
const BAR_HEIGHT = 14;
const BAR_GAP = 3;
const GROUP_GAP = 16;
const TOP = 64;

const escape = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function formatValue(value: number, unit: string): string {
  if (unit === 'msg/s' && value >= 1_000_000) return `${(value / 1_000_000).toFixed(2)}M msg/s`;
  if (unit === 'msg/s' && value >= 1000) return `${(value / 1000).toFixed(value >= 100_000 ? 0 : 1)}k msg/s`;
  if (value >= 100) return `${Math.round(value).toLocaleString('en-US')} ${unit}`;
  return `${value.toFixed(2)} ${unit}`;
}

/** The SVG text for a run. */
export function standingSvg(run: RunResults): string {
  const groups = run.scenarios
    .map((scenario) => ({
      scenario,
      bars: Object.entries(scenario.results)
        .filter((entry): entry is [string, { median: number }] => entry[1] !== null && typeof entry[1].median === 'number')
        .map(([server, result]) => ({ server, value: result.median })),
    }))
    .filter((group) => group.bars.length > 0);
  const heightOf = (bars: number): number => bars * (BAR_HEIGHT + BAR_GAP) - BAR_GAP;
  const height = TOP + groups.reduce((sum, group) => sum + heightOf(group.bars.length) + GROUP_GAP, 0) + 10;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`);
  out.push(`<rect width="100%" height="100%" fill="#ffffff"/>`);
  out.push(`<text x="10" y="18" font-size="14" font-weight="bold">wsrfc (ours) against ws + bufferutil and a raw node:net echo</text>`);
  out.push(`<text x="10" y="34" fill="#4a5568">${escape(`${run.date.slice(0, 10)} · ${run.machine.cpu}, ${run.machine.cores} cores · Node ${run.machine.node} · medians; bars scaled to the largest in each scenario; × = ratio to ws`)}</text>`);
  let legendX = WIDTH - 200;
  for (const [server, color] of Object.entries(COLORS)) {
    out.push(`<rect x="${legendX}" y="42" width="10" height="10" fill="${color}"/><text x="${legendX + 14}" y="51">${server}</text>`);
    legendX += 60;
  }
  let y = TOP;
  for (const { scenario, bars } of groups) {
    const groupHeight = heightOf(bars.length);
    const largest = Math.max(...bars.map((bar) => bar.value));
    const ws = bars.find((bar) => bar.server === 'ws')?.value;
    const better = scenario.higher_is_better ? 'higher is better' : 'lower is better';
    out.push(`<text x="10" y="${y + groupHeight / 2 - 2}" font-weight="bold">${escape(scenario.id)}</text>`);
    out.push(`<text x="52" y="${y + groupHeight / 2 - 2}">${escape(scenario.title.slice(0, 46))}</text>`);
    out.push(`<text x="52" y="${y + groupHeight / 2 + 11}" fill="#718096">${escape(`${scenario.unit}, ${better}`)}</text>`);
    bars.forEach((bar, index) => {
      const barY = y + index * (BAR_HEIGHT + BAR_GAP);
      const length = largest > 0 ? Math.max(1, (bar.value / largest) * BAR_AREA) : 1;
      const versusWs = ws && bar.server !== 'ws' ? ` ×${(bar.value / ws).toFixed(2)}` : '';
      out.push(`<rect x="${LABEL_WIDTH}" y="${barY}" width="${length.toFixed(1)}" height="${BAR_HEIGHT}" fill="${COLORS[bar.server] ?? '#a0aec0'}"/>`);
      out.push(`<text x="${(LABEL_WIDTH + length + 5).toFixed(1)}" y="${barY + 11}">${escape(`${formatValue(bar.value, scenario.unit)}${versusWs}`)}</text>`);
    });
    y += groupHeight + GROUP_GAP;
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const input = process.argv[2] ?? path.join(here, 'results.json');
  const output = process.argv[3] ?? path.join(here, 'results.svg');
  writeFileSync(output, standingSvg(JSON.parse(readFileSync(input, 'utf8')) as RunResults));
  console.log(`wrote ${output}`);
}
