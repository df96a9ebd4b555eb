import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { renderHtmlReport, type ReportInput } from '../src/html-report';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// CI installs Chromium and must run this; a developer machine without it skips, and says so.
const run = existsSync(CHROMIUM) || process.env.CI === 'true' ? describe : describe.skip;
if (!existsSync(CHROMIUM) && process.env.CI !== 'true') console.warn(`html report browser test skipped: no ${CHROMIUM}`);

const sample: ReportInput = {
  title: 'spike — test report',
  scenario: 'funnel',
  generatedAt: '2026-11-30T00:00:00Z',
  machine: 'test',
  machineCpus: 2,
  summary: [
    ['requests', 300],
    ['p99 ms', 12.5],
    ['weird </script> "name"', '<b>x</b>'],
  ],
  thresholds: [{ name: 'p99', limit: '≤ 50 ms', actual: '12.5 ms', ok: true }],
  timeline: Array.from({ length: 10 }, (_, i) => ({
    second: i,
    offered: 30,
    achieved: 29 + (i % 2),
    p50: 2 + i,
    p99: 10 + i,
    max: 20 + i,
    errors: 0,
    non2xx: i === 5 ? 1 : 0,
    busyCores: 1 + i / 10,
    stealCores: 0.05,
  })),
  statusCounts: { '202': 299, '409': 1 },
  funnel: {
    stages: [
      { name: 'registered', count: 100 },
      { name: 'email verified', count: 74 },
      { name: 'NIK verified', count: 44 },
    ],
    drain: [
      {
        stage: 'email',
        points: [
          { second: 0, backlog: 50 },
          { second: 5, backlog: 0 },
        ],
      },
    ],
  },
};

function chromium(args: string[]): string {
  return execFileSync(
    CHROMIUM,
    [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
      `--user-data-dir=${mkdtempSync(join(tmpdir(), 'chr-'))}`,
      ...args,
    ],
    { encoding: 'utf8', timeout: 60_000, stdio: ['ignore', 'pipe', 'ignore'] },
  );
}

run('HTML report in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'report-'));
  const file = join(dir, 'report.html');
  beforeAll(() => writeFileSync(file, renderHtmlReport(sample)));

  it('is self-contained: no external script, style or image', () => {
    const html = readFileSync(file, 'utf8');
    expect(html).not.toMatch(/<(script|link|img)[^>]+(src|href)=/i);
    expect(html).not.toContain('</script> "name"'); // escaped, not closing the data script
  });

  it('draws every chart offline (latency, rate, machine CPU, status codes, funnel, drain)', () => {
    const dom = chromium(['--virtual-time-budget=5000', '--dump-dom', `file://${file}`]);
    expect(dom).toMatch(/data-charts="6"/);
    expect((dom.match(/class="uplot/g) ?? []).length).toBe(6);
    expect(dom).toMatch(/id="machine"[^>]*><div class="uplot/);
    expect(dom).toContain('&lt;b&gt;x&lt;/b&gt;');
  });

  it('renders to a screenshot', () => {
    const png = join(dir, 'report.png');
    chromium(['--virtual-time-budget=5000', '--window-size=1100,1600', `--screenshot=${png}`, `file://${file}`]);
    const bytes = readFileSync(png);
    expect(bytes.subarray(1, 4).toString()).toBe('PNG');
    expect(bytes.length).toBeGreaterThan(20_000); // a page with charts, not a blank one
    if (process.env.REPORT_SCREENSHOT) writeFileSync(process.env.REPORT_SCREENSHOT, bytes);
  });
});
