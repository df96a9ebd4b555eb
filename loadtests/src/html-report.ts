import { readFileSync } from 'node:fs';

/** One second of a run, as the open-model driver records it. */
export interface TimelinePoint {
  second: number;
  offered: number;
  achieved: number;
  p50: number;
  p99: number;
  max: number;
  errors: number;
  non2xx: number;
  /** The whole machine's CPU in this second, where measured (the driver shares the machine). */
  busyCores?: number;
  stealCores?: number;
}

export interface ReportInput {
  title: string;
  scenario: string;
  generatedAt: string;
  machine: string;
  /** CPUs of the machine that ran the load (the top of the machine-CPU chart). */
  machineCpus?: number;
  /** Headline figures, shown as a table in this order. */
  summary: Array<[string, string | number]>;
  thresholds?: Array<{ name: string; limit: string; actual: string; ok: boolean }>;
  timeline: TimelinePoint[];
  statusCounts: Record<string, number>;
  /** `funnel` scenario: people left after each stage, and each stage's backlog over time. */
  funnel?: {
    stages: Array<{ name: string; count: number }>;
    drain: Array<{ stage: string; points: Array<{ second: number; backlog: number }> }>;
  };
}

const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
/** JSON inside <script>: "</script>" and U+2028 must not end or break the script. */
const scriptJson = (v: unknown) =>
  JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/\u2028|\u2029/g, ' ');

function asset(rel: string): string {
  return readFileSync(require.resolve(`uplot/dist/${rel}`), 'utf8');
}

/**
 * A self-contained HTML report: uPlot's script and CSS are inlined, so the page draws its charts with
 * no network (reports get mailed around and opened on air-gapped ops laptops).
 */
export function renderHtmlReport(r: ReportInput): string {
  const rows = (pairs: Array<[string, string | number]>) => pairs.map(([k, v]) => `<tr><th>${esc(k)}</th><td>${esc(String(v))}</td></tr>`).join('');
  const thresholds = r.thresholds?.length
    ? `<h2>Thresholds</h2><table class="thr">${r.thresholds
        .map(
          (t) =>
            `<tr class="${t.ok ? 'ok' : 'fail'}"><th>${esc(t.name)}</th><td>${esc(t.actual)}</td><td>limit ${esc(t.limit)}</td><td>${t.ok ? 'PASS' : 'FAIL'}</td></tr>`,
        )
        .join('')}</table>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>${esc(r.title)}</title>
<style>${asset('uPlot.min.css')}
body{font:14px system-ui,sans-serif;margin:24px;color:#222}table{border-collapse:collapse;margin:8px 0 16px}
th,td{padding:3px 10px;border-bottom:1px solid #ddd;text-align:left}tr.fail{background:#fdd}tr.ok td:last-child{color:#070}
.chart{margin:12px 0 28px}h1{font-size:20px}h2{font-size:16px;margin-top:28px}</style></head>
<body>
<h1>${esc(r.title)}</h1>
<p>Scenario <b>${esc(r.scenario)}</b> · generated ${esc(r.generatedAt)} · ${esc(r.machine)}</p>
<table class="summary">${rows(r.summary)}</table>
${thresholds}
<h2>Latency from the scheduled send time (ms)</h2><div class="chart" id="latency"></div>
<h2>Offered vs achieved rate (requests/s)</h2><div class="chart" id="rate"></div>
${r.timeline.some((p) => p.busyCores !== undefined) ? '<h2>Machine CPU (cores busy, cores stolen by the hypervisor)</h2><div class="chart" id="machine"></div>' : ''}
<h2>Status codes</h2><div class="chart" id="status"></div>
${r.funnel ? '<h2>Funnel: people per stage</h2><div class="chart" id="funnel"></div><h2>Backlog drain per stage</h2><div class="chart" id="drain"></div>' : ''}
<script>${asset('uPlot.iife.min.js')}</script>
<script>
const R = ${scriptJson(r)};
const W = Math.min(1000, document.body.clientWidth - 20);
const t = R.timeline.map(p => p.second);
const line = (label, stroke) => ({ label, stroke, width: 2 });
new uPlot({ width: W, height: 260, scales: { x: { time: false } }, axes: [{ label: 's' }, { label: 'ms' }],
  series: [{ label: 's' }, line('p50', '#2a7'), line('p99', '#d60'), line('max', '#c22')] },
  [t, R.timeline.map(p => p.p50), R.timeline.map(p => p.p99), R.timeline.map(p => p.max)], document.getElementById('latency'));
new uPlot({ width: W, height: 220, scales: { x: { time: false } }, axes: [{ label: 's' }, { label: 'req/s' }],
  series: [{ label: 's' }, line('offered', '#36c'), line('achieved', '#2a7'), line('errors + non-2xx', '#c22')] },
  [t, R.timeline.map(p => p.offered), R.timeline.map(p => p.achieved), R.timeline.map(p => p.errors + p.non2xx)], document.getElementById('rate'));
if (document.getElementById('machine')) {
  new uPlot({ width: W, height: 200, scales: { x: { time: false }, y: { range: [0, R.machineCpus || Math.max(...R.timeline.map(p => p.busyCores || 0))] } },
    axes: [{ label: 's' }, { label: 'cores' }],
    series: [{ label: 's' }, line('busy', '#36c'), line('steal', '#c22')] },
    [t, R.timeline.map(p => p.busyCores ?? null), R.timeline.map(p => p.stealCores ?? null)], document.getElementById('machine'));
}
const codes = Object.keys(R.statusCounts);
const bars = uPlot.paths.bars({ size: [0.6, 80] });
const barScales = n => ({ x: { time: false, range: [-0.5, n - 0.5] }, y: { range: (u, min, max) => [0, max * 1.1] } });
new uPlot({ width: Math.min(W, 160 + 90 * codes.length), height: 220, scales: barScales(codes.length),
  axes: [{ values: (u, v) => v.map(i => codes[i] ?? '') }, { label: 'answers' }],
  series: [{}, { label: 'count', fill: '#36c8', stroke: '#36c', paths: bars }] },
  [codes.map((_, i) => i), codes.map(c => R.statusCounts[c])], document.getElementById('status'));
if (R.funnel) {
  const st = R.funnel.stages;
  new uPlot({ width: Math.min(W, 160 + 110 * st.length), height: 220, scales: barScales(st.length),
    axes: [{ values: (u, v) => v.map(i => st[i] ? st[i].name : '') }, { label: 'people' }],
    series: [{}, { label: 'people', fill: '#2a78', stroke: '#2a7', paths: bars }] },
    [st.map((_, i) => i), st.map(s => s.count)], document.getElementById('funnel'));
  const xs = [...new Set(R.funnel.drain.flatMap(d => d.points.map(p => p.second)))].sort((a, b) => a - b);
  const colors = ['#36c', '#d60', '#2a7', '#c22', '#85c'];
  new uPlot({ width: W, height: 240, scales: { x: { time: false } }, axes: [{ label: 's' }, { label: 'backlog' }],
    series: [{ label: 's' }, ...R.funnel.drain.map((d, i) => line(d.stage, colors[i % colors.length]))] },
    [xs, ...R.funnel.drain.map(d => { const m = new Map(d.points.map(p => [p.second, p.backlog])); return xs.map(x => m.has(x) ? m.get(x) : null); })],
    document.getElementById('drain'));
}
document.body.dataset.charts = String(document.querySelectorAll('.uplot').length);
</script>
</body></html>
`;
}
