// Paths and parsed deployment files shared by the test/deploy checks.
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse, parseAllDocuments } from 'yaml';

export const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const DOCKER = join(ROOT, 'docker');
export const K8S = join(DOCKER, 'k8s');

export const readText = (rel: string): string => readFileSync(join(ROOT, rel), 'utf8');

/** Compose files use YAML merge keys (`<<: *anchor`), a YAML 1.1 feature: enable it. */
export function readYaml(rel: string): unknown {
  return parse(readText(rel), { merge: true, strict: true, uniqueKeys: true });
}

export interface K8sObject {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  spec: Record<string, unknown>;
  [k: string]: unknown;
}

/** Every document of every YAML file under docker/k8s/, with parse errors reported per file. */
export function readK8s(): Array<{ file: string; doc: K8sObject }> {
  const out: Array<{ file: string; doc: K8sObject }> = [];
  for (const file of readdirSync(K8S).filter((f) => /\.ya?ml$/.test(f)).sort()) {
    for (const d of parseAllDocuments(readFileSync(join(K8S, file), 'utf8'), { strict: true, uniqueKeys: true })) {
      if (d.errors.length > 0) throw new Error(`${file}: ${d.errors.map((e) => e.message).join('; ')}`);
      const doc = d.toJS() as K8sObject | null;
      if (doc !== null) out.push({ file, doc });
    }
  }
  return out;
}

/** Walk a parsed YAML value along object keys / array indices; undefined when absent. */
export function at(v: unknown, ...path: Array<string | number>): unknown {
  let cur: unknown = v;
  for (const k of path) {
    if (cur === null || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string | number, unknown>)[k];
  }
  return cur;
}

/** Kubernetes / compose durations like "20s", "1m30s", "500ms" in milliseconds. */
export function durationMs(s: string | number): number {
  if (typeof s === 'number') return s * 1000;
  let total = 0;
  let rest = s.trim();
  const unit: Record<string, number> = { h: 3_600_000, m: 60_000, s: 1000, ms: 1, us: 0.001 };
  while (rest.length > 0) {
    const m = /^(\d+(?:\.\d+)?)(ms|us|h|m|s)/.exec(rest);
    if (!m) throw new Error(`not a duration: ${s}`);
    total += Number(m[1]) * unit[m[2]];
    rest = rest.slice(m[0].length);
  }
  return total;
}

/** Kubernetes quantities: CPU ("500m", "2") in cores, memory ("256Mi", "1Gi") in bytes. */
export function quantity(q: string | number): number {
  if (typeof q === 'number') return q;
  const m = /^(\d+(?:\.\d+)?)(m|k|Ki|M|Mi|G|Gi|T|Ti)?$/.exec(q.trim());
  if (!m) throw new Error(`not a Kubernetes quantity: ${q}`);
  const mult: Record<string, number> = {
    '': 1, m: 1e-3, k: 1e3, Ki: 1024, M: 1e6, Mi: 1024 ** 2, G: 1e9, Gi: 1024 ** 3, T: 1e12, Ti: 1024 ** 4,
  };
  return Number(m[1]) * mult[m[2] ?? ''];
}

/** Compose / docker byte values ("256m", "1g", "512k", "100b"): binary units, as docker reads them. */
export function composeBytes(v: string | number): number {
  if (typeof v === 'number') return v;
  const m = /^(\d+(?:\.\d+)?)\s*([bkmg])?b?$/i.exec(v.trim());
  if (!m) throw new Error(`not a compose byte value: ${v}`);
  const mult: Record<string, number> = { '': 1, b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };
  return Number(m[1]) * mult[(m[2] ?? '').toLowerCase()];
}
