// Static checks of docker/docker-compose.yml, docker/nginx.conf and docker/prometheus.yml: they
// parse, every file they reference exists, and ports, env names, limits and timeouts agree with
// the zod config (src/config.ts) and with each other.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_ENV_NAMES, loadConfig, type Config } from '../../src/config.js';
import { at, composeBytes, DOCKER, durationMs, readText, readYaml, ROOT } from './helpers/repo.js';

interface Service {
  image?: string;
  build?: { context: string; dockerfile: string };
  profiles?: string[];
  environment?: Record<string, string>;
  ports?: string[];
  healthcheck?: { test: string[] };
  stop_grace_period?: string;
  volumes?: string[];
  depends_on?: Record<string, { condition: string }>;
  deploy?: { replicas?: number | string; resources?: { limits?: { cpus?: string; memory?: string }; reservations?: Record<string, unknown> } };
}

const compose = readYaml('docker/docker-compose.yml') as { services: Record<string, Service> };
const services = compose.services;
const DIGITS = ['digits', 'digits-pool', 'digits-gpu'];

/** `${VAR:-default}` -> default (what compose uses when VAR is unset). */
const interpolate = (s: string): string => s.replace(/\$\{(\w+):-([^}]*)\}/g, (_, _n: string, d: string) => d);
const containerPort = (mapping: string): number => Number(interpolate(mapping).split(':').at(-1)!.split('/')[0]);
const configOf = (s: Service): Config => loadConfig(s.environment ?? {});

t.test('compose: services, profiles and build files', async (t) => {
  t.ok(services.digits, 'default service "digits"');
  t.equal(services.digits.profiles, undefined, '"digits" runs without a profile');
  t.ok(services['digits-pool'].profiles?.includes('replicas') && services.lb.profiles?.includes('replicas'), 'replicas profile: pool + lb');
  t.ok(Number(interpolate(String(services['digits-pool'].deploy?.replicas))) >= 2, 'the pool runs several replicas by default');
  t.ok(services['digits-gpu'].profiles?.includes('gpu'), 'gpu profile');
  t.ok(services.prometheus?.profiles?.includes('monitoring'), 'optional prometheus behind a profile');
  for (const [name, s] of Object.entries(services)) {
    if (s.build) {
      const dockerfile = join(DOCKER, s.build.context, s.build.dockerfile);
      t.ok(existsSync(dockerfile), `${name}: build ${s.build.dockerfile} exists (context ${s.build.context})`);
      t.equal(join(DOCKER, s.build.context), ROOT, `${name}: build context is the repository root`);
    }
    for (const v of s.volumes ?? []) {
      const src = v.split(':')[0];
      if (src.startsWith('.')) t.ok(existsSync(join(DOCKER, src)), `${name}: mounted ${src} exists`);
    }
  }
});

t.test('compose: every service has resource limits', async (t) => {
  for (const [name, s] of Object.entries(services)) {
    const lim = s.deploy?.resources?.limits;
    t.ok(Number(lim?.cpus) > 0, `${name}: cpu limit`);
    t.ok(composeBytes(lim?.memory ?? '') >= 64 * 1024 ** 2, `${name}: memory limit`);
  }
});

for (const name of DIGITS) {
  t.test(`compose ${name}: env, ports, healthcheck and shutdown agree with the config`, async (t) => {
    const s = services[name];
    for (const k of Object.keys(s.environment ?? {})) t.ok((CONFIG_ENV_NAMES as string[]).includes(k), `${k} is a config variable`);
    const config = configOf(s); // throws ConfigError naming the variable if a value is invalid
    for (const p of s.ports ?? []) t.equal(containerPort(p), config.PORT, `port mapping ${p} targets PORT`);
    t.same(s.healthcheck?.test, ['CMD', 'node', 'docker/healthcheck.mjs'], 'healthcheck runs the image probe script');
    t.ok(durationMs(s.stop_grace_period ?? '10s') > config.DRAIN_TIMEOUT_MS, `stop_grace_period ${s.stop_grace_period} > DRAIN_TIMEOUT_MS ${config.DRAIN_TIMEOUT_MS}`);
  });
}

t.test('compose digits-gpu: CUDA image with a GPU reservation', async (t) => {
  const s = services['digits-gpu'];
  t.equal(s.build?.dockerfile, 'docker/Dockerfile.cuda');
  t.same(configOf(s).EXECUTION_PROVIDERS, ['cuda', 'cpu']);
  const devices = at(s, 'deploy', 'resources', 'reservations', 'devices') as Array<{ driver: string; count: number; capabilities: string[] }>;
  t.equal(devices?.[0]?.driver, 'nvidia');
  t.ok(devices?.[0]?.capabilities.includes('gpu'));
  t.ok(devices?.[0]?.count >= 1);
});

t.test('nginx.conf: one port in front of the pool, limits above the service\'s own', async (t) => {
  const conf = readText('docker/nginx.conf');
  const pool = services['digits-pool'];
  const config = configOf(pool);
  const braces = [...conf.replace(/#.*$/gm, '')].reduce((n, c) => n + (c === '{' ? 1 : c === '}' ? -1 : 0), 0);
  t.equal(braces, 0, 'braces balance');
  const upstream = /server\s+([\w-]+):(\d+)/.exec(conf);
  t.equal(upstream?.[1], 'digits-pool', 'upstream is the pool service');
  t.equal(Number(upstream?.[2]), config.PORT, 'upstream port is the pool\'s PORT');
  const listen = Number(/listen\s+(\d+)/.exec(conf)?.[1]);
  t.same(services.lb.ports?.map(containerPort), [listen], 'lb publishes the port nginx listens on');
  t.equal(services.lb.depends_on?.['digits-pool']?.condition, 'service_healthy', 'lb waits for healthy replicas');
  t.ok(services.lb.volumes?.includes('./nginx.conf:/etc/nginx/nginx.conf:ro'), 'this nginx.conf is the one mounted');
  const bodyMiB = Number(/client_max_body_size\s+(\d+)m;/.exec(conf)?.[1]);
  // src/routes/predict.ts: JSON carries MAX_FILES base64 images (4/3 the bytes) + 64 KiB of syntax.
  const largestBody = Math.ceil((config.MAX_FILES * config.MAX_FILE_BYTES * 4) / 3) + 64 * 1024;
  t.ok(bodyMiB * 1024 ** 2 >= largestBody, `nginx accepts the largest body the service accepts (${largestBody} bytes)`);
  const readTimeout = durationMs(/proxy_read_timeout\s+(\w+);/.exec(conf)?.[1] ?? '60s');
  t.ok(readTimeout > config.REQUEST_TIMEOUT_MS, 'nginx waits longer than the service\'s own REQUEST_TIMEOUT_MS');
  t.notMatch(conf, /proxy_next_upstream[^;]*(http_503|non_idempotent)/, 'overload 503s are not retried on other replicas');
});

t.test('prometheus.yml scrapes /metrics of the compose services', async (t) => {
  const prom = readYaml('docker/prometheus.yml');
  const job = at(prom, 'scrape_configs', 0) as { metrics_path: string; dns_sd_configs: Array<{ names: string[]; port: number }> };
  t.equal(job.metrics_path, '/metrics');
  for (const sd of job.dns_sd_configs) {
    for (const n of sd.names) {
      t.ok(DIGITS.includes(n) && services[n], `${n} is a compose service`);
      t.equal(sd.port, configOf(services[n]).PORT, `${n}: scrape port is its PORT`);
    }
  }
});
