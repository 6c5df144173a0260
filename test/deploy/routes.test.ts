// Every path the deployment files send traffic or probes to is a route of the real app (built
// by buildApp over a real ONNX model): k8s probes, the Dockerfile HEALTHCHECK script, the
// Prometheus scrape path, the scrape annotations. And the HEALTHCHECK script really works:
// exit 0 against a listening server, exit 1 against a closed port.
import t from 'tap';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { build } from '../service/helpers/app.js';
import { BATCH_SIZE_METRIC } from '../../bench/lib/prom.js';
import { PREDICT_PATH } from '../../bench/lib/scenario.js';
import { freeLoopbackPort } from '../../bench/lib/server-process.js';
import { at, readK8s, readText, readYaml, ROOT } from './helpers/repo.js';

interface Probe { httpGet?: { path: string } }

function deploymentRoutes(): Array<{ where: string; method: 'GET' | 'POST'; url: string }> {
  const out: Array<{ where: string; method: 'GET' | 'POST'; url: string }> = [];
  const dep = readK8s().find((d) => d.doc.kind === 'Deployment')!.doc;
  const c = (at(dep, 'spec', 'template', 'spec', 'containers', 0) ?? {}) as Record<string, Probe | undefined>;
  for (const probe of ['readinessProbe', 'livenessProbe', 'startupProbe']) {
    const path = c[probe]?.httpGet?.path;
    if (path) out.push({ where: `k8s ${probe}`, method: 'GET', url: path });
  }
  out.push({ where: 'k8s prometheus.io/path', method: 'GET', url: String(at(dep, 'spec', 'template', 'metadata', 'annotations', 'prometheus.io/path')) });
  const prom = readYaml('docker/prometheus.yml');
  out.push({ where: 'prometheus.yml metrics_path', method: 'GET', url: String(at(prom, 'scrape_configs', 0, 'metrics_path')) });
  const hc = /`http:\/\/127\.0\.0\.1:\$\{port\}(\/[\w/-]*)`/.exec(readText('docker/healthcheck.mjs'))?.[1];
  out.push({ where: 'docker/healthcheck.mjs', method: 'GET', url: hc ?? '(no URL found)' });
  out.push({ where: 'bench:load scenarios', method: 'POST', url: PREDICT_PATH });
  return out;
}

t.test('deployment files only point at routes the app has', async (t) => {
  const app = await build(t);
  for (const r of deploymentRoutes()) {
    t.ok(app.hasRoute({ method: r.method, url: r.url }), `${r.where}: ${r.method} ${r.url} is a route`);
  }
  const probes = await Promise.all(['/healthz', '/readyz', '/metrics'].map((url) => app.inject({ method: 'GET', url })));
  t.same(probes.map((p) => p.statusCode), [200, 200, 200], '/healthz, /readyz and /metrics answer 200 once the model is loaded');
  t.match(probes[2].body, new RegExp(`^# TYPE ${BATCH_SIZE_METRIC} histogram$`, 'm'), 'the batch-size histogram the load harness reads is exposed');
});

function runHealthcheck(port: number): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'docker/healthcheck.mjs')], { env: { ...process.env, PORT: String(port) }, timeout: 20_000 },
      (err, _stdout, stderr) => resolve({ code: err ? (typeof err.code === 'number' ? err.code : null) : 0, stderr }));
  });
}

t.test('docker/healthcheck.mjs: 0 for a live server, 1 for none', async (t) => {
  const app = await build(t);
  await app.listen({ port: 0, host: '127.0.0.1' });
  const port = (app.server.address() as AddressInfo).port;
  const live = await runHealthcheck(port);
  t.equal(live.code, 0, `healthy server -> exit 0 ${live.stderr}`);
  const closed = await freeLoopbackPort();
  const dead = await runHealthcheck(closed);
  t.equal(dead.code, 1, 'nothing listening -> exit 1');
  t.match(dead.stderr, /healthcheck: .*\/healthz failed/, 'and says why');
});
