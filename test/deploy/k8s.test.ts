// Static checks of docker/k8s/: every manifest parses, the objects reference each other
// consistently (selectors, ports, scale target), the container's env is valid for the zod config,
// probes use the right routes, and the termination grace period covers preStop + drain.
import t from 'tap';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_ENV_NAMES, loadConfig } from '../../src/config.js';
import { execForm, finalStage, last, readDockerfile } from './helpers/dockerfile.js';
import { parse as readYamlText } from 'yaml';
import { at, K8S, quantity, readK8s, readYaml, ROOT, type K8sObject } from './helpers/repo.js';

interface Probe { httpGet?: { path: string; port: string | number }; periodSeconds?: number; timeoutSeconds?: number }
interface Container {
  name: string;
  image: string;
  ports: Array<{ name?: string; containerPort: number }>;
  env: Array<{ name: string; value?: string }>;
  resources: { requests: Record<string, string>; limits: Record<string, string> };
  readinessProbe?: Probe;
  livenessProbe?: Probe;
  lifecycle?: { preStop?: { exec?: { command: string[] }; sleep?: { seconds: number } } };
  securityContext?: Record<string, unknown>;
}

const docs = readK8s();
const byKind = (kind: string): K8sObject[] => docs.filter((d) => d.doc.kind === kind).map((d) => d.doc);
const deployment = byKind('Deployment')[0];
const podSpec = at(deployment, 'spec', 'template', 'spec') as { containers: Container[]; terminationGracePeriodSeconds: number; securityContext: Record<string, unknown> };
const container = podSpec.containers[0];
const env = Object.fromEntries(container.env.map((e) => [e.name, e.value ?? '']));
const config = loadConfig(env);

t.test('k8s manifests parse and have the objects an operator expects', async (t) => {
  for (const { file, doc } of docs) {
    if (doc.kind === 'Kustomization') continue; // kustomize's own file, not an API object
    t.ok(doc.apiVersion && doc.kind && doc.metadata?.name, `${file}: ${doc.kind}/${doc.metadata?.name}`);
  }
  for (const kind of ['Deployment', 'Service', 'HorizontalPodAutoscaler']) t.equal(byKind(kind).length, 1, `one ${kind}`);
  const kustomization = readYaml('docker/k8s/kustomization.yaml') as { resources: string[] };
  const listed = new Set(kustomization.resources);
  for (const { file, doc } of docs) if (doc.kind !== 'Kustomization') t.ok(listed.has(file), `kustomization lists ${file}`);
  for (const r of listed) t.ok(existsSync(join(K8S, r)), `kustomization resource ${r} exists`);
});

t.test('Deployment: selector, env and ports agree with the config', async (t) => {
  const selector = at(deployment, 'spec', 'selector', 'matchLabels') as Record<string, string>;
  const labels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) t.equal(labels[k], v, `pod template carries selector label ${k}`);
  for (const name of Object.keys(env)) t.ok((CONFIG_ENV_NAMES as string[]).includes(name), `env ${name} is a config variable`);
  t.equal(container.ports.find((p) => p.name === 'http')?.containerPort, config.PORT, 'containerPort "http" is PORT');
  t.equal(config.HOST, '0.0.0.0', 'listens on the pod IP');
  t.equal(at(deployment, 'spec', 'template', 'metadata', 'annotations', 'prometheus.io/port'), String(config.PORT), 'scrape annotation port');
  t.equal(at(deployment, 'spec', 'template', 'metadata', 'annotations', 'prometheus.io/path'), '/metrics', 'scrape annotation path');
});

t.test('Deployment: probes, resources, security, shutdown budget', async (t) => {
  const portOf = (p: Probe | undefined) => {
    const port = p?.httpGet?.port;
    return typeof port === 'number' ? port : container.ports.find((c) => c.name === port)?.containerPort;
  };
  t.equal(container.readinessProbe?.httpGet?.path, '/readyz', 'readiness on /readyz');
  t.equal(container.livenessProbe?.httpGet?.path, '/healthz', 'liveness on /healthz');
  t.equal(portOf(container.readinessProbe), config.PORT, 'readiness probe port');
  t.equal(portOf(container.livenessProbe), config.PORT, 'liveness probe port');

  for (const r of ['cpu', 'memory']) {
    const req = quantity(container.resources.requests[r]);
    const lim = quantity(container.resources.limits[r]);
    t.ok(req > 0 && req <= lim, `${r}: 0 < request (${container.resources.requests[r]}) <= limit (${container.resources.limits[r]})`);
  }

  const df = finalStage(readDockerfile(join(ROOT, 'docker/Dockerfile')));
  t.equal(String(podSpec.securityContext.runAsUser), last(df, 'USER')?.args.split(':')[0], 'runAsUser is the image USER');
  t.equal(podSpec.securityContext.runAsNonRoot, true);
  t.equal(container.securityContext?.readOnlyRootFilesystem, true, 'read-only root filesystem');
  const mounts = (container as unknown as { volumeMounts: Array<{ mountPath: string }> }).volumeMounts;
  t.ok(mounts.some((m) => m.mountPath === '/tmp'), 'a writable /tmp (tsx transform cache) on the read-only root');

  const pre = container.lifecycle?.preStop;
  const preStopS = pre?.sleep?.seconds ?? (pre?.exec?.command[0] === 'sleep' ? Number(pre.exec.command[1]) : 0);
  const grace = podSpec.terminationGracePeriodSeconds;
  t.ok(grace * 1000 >= preStopS * 1000 + config.DRAIN_TIMEOUT_MS,
    `terminationGracePeriodSeconds ${grace} covers preStop ${preStopS}s + DRAIN_TIMEOUT_MS ${config.DRAIN_TIMEOUT_MS}`);
  t.ok(grace * 1000 <= preStopS * 1000 + config.DRAIN_TIMEOUT_MS + 10_000, 'and not much more (pods should not linger)');
  if (pre?.exec) t.ok(execForm(JSON.stringify(pre.exec.command)), 'preStop is an exec command');
});

t.test('Service and HPA point at the Deployment', async (t) => {
  const svc = byKind('Service')[0];
  const selector = at(svc, 'spec', 'selector') as Record<string, string>;
  const labels = at(deployment, 'spec', 'template', 'metadata', 'labels') as Record<string, string>;
  for (const [k, v] of Object.entries(selector)) t.equal(labels[k], v, `Service selects pods by ${k}`);
  const ports = at(svc, 'spec', 'ports') as Array<{ targetPort: string | number }>;
  for (const p of ports) {
    const target = typeof p.targetPort === 'number' ? p.targetPort : container.ports.find((c) => c.name === p.targetPort)?.containerPort;
    t.equal(target, config.PORT, `Service targetPort ${p.targetPort} reaches the container`);
  }
  const hpa = byKind('HorizontalPodAutoscaler')[0];
  t.equal(at(hpa, 'spec', 'scaleTargetRef', 'kind'), 'Deployment');
  t.equal(at(hpa, 'spec', 'scaleTargetRef', 'name'), deployment.metadata.name);
  const min = Number(at(hpa, 'spec', 'minReplicas'));
  const max = Number(at(hpa, 'spec', 'maxReplicas'));
  t.ok(min >= 1 && min <= max, `1 <= minReplicas ${min} <= maxReplicas ${max}`);
  t.ok(container.resources.requests.cpu, 'CPU utilisation targets need a CPU request');
  for (const pdb of byKind('PodDisruptionBudget')) {
    t.same(at(pdb, 'spec', 'selector', 'matchLabels'), at(deployment, 'spec', 'selector', 'matchLabels'), 'PDB selects the same pods');
    t.ok(Number(at(pdb, 'spec', 'minAvailable')) < min, 'PDB leaves room to drain a node at minReplicas');
  }
});

t.test('docker/k8s-gpu overlay: the CUDA image, a GPU limit, valid config', async (t) => {
  const k = readYaml('docker/k8s-gpu/kustomization.yaml') as {
    resources: string[]; images: Array<{ name: string; newTag: string }>; patches: Array<{ target: { kind: string; name: string }; patch: string }>;
  };
  t.same(k.resources, ['../k8s'], 'builds on docker/k8s');
  t.equal(k.images[0].name, container.image.split(':')[0], 'retags the base image');
  t.equal(k.images[0].newTag, 'cuda');
  const dep = k.patches.find((p) => p.target.kind === 'Deployment');
  t.equal(dep?.target.name, deployment.metadata.name);
  const patch = readYamlText(dep?.patch ?? '');
  const c = (at(patch, 'spec', 'template', 'spec', 'containers', 0) ?? {}) as Container;
  t.equal(c.name, container.name, 'patches the service container by name');
  const merged = { ...env, ...Object.fromEntries(c.env.map((e) => [e.name, e.value ?? ''])) };
  for (const e of c.env) t.ok((CONFIG_ENV_NAMES as string[]).includes(e.name), `env ${e.name} is a config variable`);
  t.same(loadConfig(merged).EXECUTION_PROVIDERS, ['cuda', 'cpu']);
  t.equal(String(c.resources.limits['nvidia.com/gpu']), '1', 'one GPU per pod');
});
