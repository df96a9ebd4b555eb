// CPU per proxied request of the edge (services/edge) against nginx (infra/edge), in front of a trivial
// upstream that answers at once: what the front itself costs, closed loop (autocannon), same run.
//   node loadtests/bench/edge-cost.mjs [--seconds 10] [--connections 32] [--fronts fastify,nginx] [--rounds 2]
// Env for the edge (e.g. LOG_LEVEL=warn) is passed through. Prints one line per front and round.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { mkdtempSync, readFileSync, writeFileSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const autocannon = require('autocannon');
const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const { values } = parseArgs({
  options: {
    seconds: { type: 'string', default: '10' },
    connections: { type: 'string', default: '32' },
    fronts: { type: 'string', default: 'fastify,nginx' },
    rounds: { type: 'string', default: '2' },
  },
});
const ticks = 100;
const cpuOf = (pid) => {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8')
    .slice(readFileSync(`/proc/${pid}/stat`, 'utf8').lastIndexOf(')') + 2)
    .split(' ');
  return (Number(f[11]) + Number(f[12])) / ticks;
};
const children = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const listen = (srv) => new Promise((r) => srv.listen(0, '127.0.0.1', () => r(srv.address().port)));

const body = JSON.stringify({ registrationId: '0b1f3d1e-8c0e-4a57-9d7e-1b2f3c4d5e6f', status: 'pending_email_verification' });
const upstream = createServer((req, res) => {
  if (req.url === '/health/ready') return res.end('{}');
  req.resume();
  req.on('end', () => res.writeHead(202, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) }).end(body));
});
const upPort = await listen(upstream);
const up = `http://127.0.0.1:${upPort}`;
const freePort = async () => {
  const s = createServer();
  const p = await listen(s);
  await new Promise((r) => s.close(r));
  return p;
};

async function start(front) {
  const port = await freePort();
  if (front === 'fastify') {
    const child = spawn(process.execPath, [join(root, 'services/edge/dist/server.js')], {
      env: {
        PATH: process.env.PATH,
        LOG_LEVEL: 'info',
        ...process.env,
        HTTP_PORT: String(port),
        EDGE_TRUST_PROXY: 'loopback',
        EDGE_INTAKE_URL: up,
        EDGE_EMAIL_URL: up,
        EDGE_NIK_URL: up,
        EDGE_ENROLLMENT_URL: up,
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    return { port, pids: () => [child.pid], stop: () => child.kill('SIGTERM') };
  }
  const dir = mkdtempSync(join(tmpdir(), 'edge-cost-'));
  chmodSync(dir, 0o755);
  const conf = join(dir, 'nginx.conf');
  writeFileSync(
    conf,
    readFileSync(join(root, 'infra/edge/nginx.conf.template'), 'utf8')
      .replaceAll('@RUN@', dir)
      .replaceAll('@PORT@', String(port))
      .replaceAll('@INTAKE@', `127.0.0.1:${upPort}`)
      .replaceAll('@TRUST@', '127.0.0.0/8'),
  );
  const child = spawn('nginx', ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')], { stdio: ['ignore', 'ignore', 'inherit'] });
  return { port, pids: () => [child.pid, ...children(child.pid)], stop: () => child.kill('SIGQUIT') };
}

const payload = JSON.stringify({
  fullName: 'Budi Santoso',
  nik: '3204110609970001',
  email: 'budi@example.co.id',
  phone: '081234567890',
  birthDate: '1997-09-06',
});
for (let round = 1; round <= Number(values.rounds); round++) {
  for (const front of values.fronts.split(',')) {
    const f = await start(front);
    for (let i = 0; i < 100; i++) {
      try {
        const r = await fetch(`http://127.0.0.1:${f.port}/health/live`);
        if (r.ok) break;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    const opts = {
      url: `http://127.0.0.1:${f.port}/v1/registrations`,
      method: 'POST',
      connections: Number(values.connections),
      headers: { 'content-type': 'application/json', 'x-forwarded-for': '2001:db8::1', origin: 'http://localhost:5173' },
      body: payload,
    };
    await autocannon({ ...opts, duration: 2 }); // warm-up, not counted
    const pids = f.pids();
    const c0 = pids.reduce((s, p) => s + cpuOf(p), 0);
    const r = await autocannon({ ...opts, duration: Number(values.seconds) });
    const c1 = pids.reduce((s, p) => s + cpuOf(p), 0);
    const n = r.requests.total;
    console.log(
      `${new Date().toISOString()} round ${round} ${front.padEnd(7)} ${(n / Number(values.seconds)).toFixed(0).padStart(6)} req/s  p50 ${r.latency.p50} ms  p99 ${r.latency.p99} ms  non2xx ${r.non2xx}  front CPU ${(c1 - c0).toFixed(2)} s = ${(((c1 - c0) * 1e6) / n).toFixed(0)} µs/request`,
    );
    f.stop();
    await sleep(500);
  }
}
upstream.close();
process.exit(0);
