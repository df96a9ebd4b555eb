/*
 * What survives a process's scavenges: V8's sampling heap profiler, through the inspector, with the
 * objects that died in a minor GC left out — what remains is what a scavenge found alive and had to
 * copy or promote, plus whatever was still alive when sampling stopped (up to a young generation's
 * worth: read sites, not totals; `--trace-gc-nvp` gives the bytes). Printed by allocation site (the
 * innermost frames), largest first. Decision 0014 found the intake's GC pauses this way.
 *
 *   LOADTEST_SERVICE_NODE_OPTIONS=--inspect=0 npx -y pnpm@10.34.9 loadtest spike --start-intake --count 40000 --rate 1333 --no-audit
 *     (prints "[intake] Debugger listening on ws://127.0.0.1:PORT/…"; then, while the load runs:)
 *   node loadtests/bench/heap-survivors.mjs --port PORT --seconds 10
 *
 * Options: --port N (inspector port, required), --seconds S (10), --top N (30), --frames N (4 frames per
 * site), --interval BYTES (8192, the sampling interval), --all (keep objects minor GCs collected too:
 * every allocation, not only survivors). Needs Node 22+ (global WebSocket).
 */
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    seconds: { type: 'string', default: '10' },
    top: { type: 'string', default: '30' },
    frames: { type: 'string', default: '4' },
    interval: { type: 'string', default: '8192' },
    all: { type: 'boolean', default: false },
  },
});
if (!values.port) {
  process.stderr.write('usage: heap-survivors.mjs --port N [--seconds S] [--top N] [--frames N] [--interval BYTES] [--all]\n');
  process.exit(2);
}

const targets = await (await fetch(`http://127.0.0.1:${values.port}/json/list`)).json();
const ws = new WebSocket(targets[0].webSocketDebuggerUrl);
await new Promise((resolve, reject) => {
  ws.addEventListener('open', resolve, { once: true });
  ws.addEventListener('error', reject, { once: true });
});
let nextId = 0;
const pending = new Map();
ws.addEventListener('message', (m) => {
  const msg = JSON.parse(m.data);
  if (msg.id && pending.has(msg.id)) {
    pending.get(msg.id)(msg);
    pending.delete(msg.id);
  }
});
const call = (method, params = {}) =>
  new Promise((resolve, reject) => {
    const id = ++nextId;
    pending.set(id, (msg) => (msg.error ? reject(new Error(`${method}: ${msg.error.message}`)) : resolve(msg.result)));
    ws.send(JSON.stringify({ id, method, params }));
  });

await call('HeapProfiler.enable');
await call('HeapProfiler.startSampling', {
  samplingInterval: Number(values.interval),
  includeObjectsCollectedByMajorGC: true,
  includeObjectsCollectedByMinorGC: values.all,
});
await new Promise((resolve) => setTimeout(resolve, Number(values.seconds) * 1000));
const { profile } = await call('HeapProfiler.stopSampling');
ws.close();

const shortUrl = (url) => url.replace(/.*node_modules\/\.pnpm\//, '').replace(/^.*?\/(services|packages|loadtests)\//, '$1/');
const bySite = new Map();
let total = 0;
const walk = (node, stack) => {
  const f = node.callFrame;
  const here = [...stack, `${f.functionName || '(anonymous)'} ${shortUrl(f.url)}:${f.lineNumber + 1}`];
  if (node.selfSize) {
    const site = here.slice(-Number(values.frames)).reverse().join('  ←  ');
    bySite.set(site, (bySite.get(site) ?? 0) + node.selfSize);
    total += node.selfSize;
  }
  for (const child of node.children) walk(child, here);
};
walk(profile.head, []);

const what = values.all ? 'allocated' : 'survived a scavenge or still alive at the end';
process.stdout.write(`${(total / 1e6).toFixed(1)} MB ${what} in ${values.seconds} s (sampled every ${values.interval} bytes)\n`);
for (const [site, bytes] of [...bySite].sort((a, b) => b[1] - a[1]).slice(0, Number(values.top))) {
  process.stdout.write(`${(bytes / 1e6).toFixed(2).padStart(8)} MB ${((100 * bytes) / total).toFixed(1).padStart(5)} %  ${site}\n`);
}
