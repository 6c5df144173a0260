// A small Dockerfile reader for the static deployment checks (no Docker engine on the build
// machines): joins continuation lines, drops comments, splits stages, and reads the arguments of
// FROM / COPY / ENV / CMD / ENTRYPOINT / HEALTHCHECK / USER / EXPOSE the way the Dockerfile
// reference defines them, for the subset of syntax our Dockerfiles use.
import { readFileSync } from 'node:fs';

export interface Instruction {
  keyword: string; // upper case
  args: string; // raw text after the keyword, continuation lines joined
  line: number; // 1-based line of the keyword
}

export interface Stage {
  name?: string;
  base: string; // image reference after ARG substitution, or a previous stage's name
  instructions: Instruction[];
}

export interface Dockerfile {
  args: Record<string, string>; // global ARGs (before the first FROM) with their defaults
  stages: Stage[];
}

export function parseDockerfile(text: string): Dockerfile {
  const instructions: Instruction[] = [];
  const lines = text.split(/\r?\n/);
  let current: Instruction | undefined;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    const trimmed = raw.trim();
    // Comment lines are removed before parsing, also inside a continued instruction.
    if (trimmed.startsWith('#')) continue;
    if (current === undefined) {
      if (trimmed === '') continue;
      const m = /^(\w+)\s*(.*)$/.exec(trimmed);
      if (!m) throw new Error(`line ${i + 1}: cannot read instruction: ${raw}`);
      current = { keyword: m[1].toUpperCase(), args: '', line: i + 1 };
      appendPart(current, m[2]);
    } else {
      if (trimmed === '') continue;
      appendPart(current, trimmed);
    }
    if (!current.args.endsWith('\\')) {
      instructions.push(current);
      current = undefined;
    } else {
      current.args = current.args.slice(0, -1).trimEnd();
    }
  }
  if (current) throw new Error(`instruction at line ${current.line} ends with a continuation`);

  const df: Dockerfile = { args: {}, stages: [] };
  for (const ins of instructions) {
    if (ins.keyword === 'ARG' && df.stages.length === 0) {
      const [name, value = ''] = splitOnce(ins.args, '=');
      df.args[name] = value;
    } else if (ins.keyword === 'FROM') {
      const parts = ins.args.split(/\s+/).filter((p) => !p.startsWith('--'));
      const base = substitute(parts[0], df.args);
      const asIdx = parts.findIndex((p) => p.toUpperCase() === 'AS');
      df.stages.push({ base, name: asIdx >= 0 ? parts[asIdx + 1] : undefined, instructions: [] });
    } else {
      const stage = df.stages.at(-1);
      if (!stage) throw new Error(`line ${ins.line}: ${ins.keyword} before the first FROM`);
      stage.instructions.push(ins);
    }
  }
  return df;
}

function appendPart(ins: Instruction, part: string): void {
  ins.args = ins.args === '' ? part : `${ins.args} ${part}`;
}

function splitOnce(s: string, sep: string): [string, string?] {
  const i = s.indexOf(sep);
  return i < 0 ? [s.trim()] : [s.slice(0, i).trim(), s.slice(i + 1).trim()];
}

export function substitute(s: string, vars: Record<string, string>): string {
  return s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string | undefined, b: string | undefined) => vars[(a ?? b)!] ?? '');
}

export function readDockerfile(path: string): Dockerfile {
  return parseDockerfile(readFileSync(path, 'utf8'));
}

export function finalStage(df: Dockerfile): Stage {
  const s = df.stages.at(-1);
  if (!s) throw new Error('Dockerfile has no FROM');
  return s;
}

export function stageByName(df: Dockerfile, name: string): Stage | undefined {
  return df.stages.find((s) => s.name === name);
}

export interface Copy {
  from?: string;
  sources: string[];
  dest: string;
  line: number;
}

export function copies(stage: Stage): Copy[] {
  return stage.instructions
    .filter((i) => i.keyword === 'COPY' || i.keyword === 'ADD')
    .map((i) => {
      const words = i.args.startsWith('[') ? (JSON.parse(i.args) as string[]) : i.args.split(/\s+/);
      const flags = words.filter((w) => w.startsWith('--'));
      const paths = words.filter((w) => !w.startsWith('--'));
      const from = flags.find((f) => f.startsWith('--from='))?.slice('--from='.length);
      return { from, sources: paths.slice(0, -1), dest: paths.at(-1)!, line: i.line };
    });
}

/** ENV in both forms: `ENV A=1 B="x y"` and the legacy `ENV A 1`. Later values win. */
export function envOf(stage: Stage): Record<string, string> {
  const env: Record<string, string> = {};
  for (const ins of stage.instructions.filter((i) => i.keyword === 'ENV')) {
    if (!/^\w+=/.test(ins.args)) {
      const [k, v = ''] = splitOnce(ins.args, ' ');
      env[k] = v;
      continue;
    }
    for (const m of ins.args.matchAll(/(\w+)=("(?:[^"\\]|\\.)*"|\S*)/g)) {
      env[m[1]] = m[2].startsWith('"') ? (JSON.parse(m[2]) as string) : m[2];
    }
  }
  return env;
}

/** The last instruction with this keyword in the stage (CMD, ENTRYPOINT, USER ... are "last wins"). */
export function last(stage: Stage, keyword: string): Instruction | undefined {
  return stage.instructions.filter((i) => i.keyword === keyword).at(-1);
}

/** Exec form (JSON array) or undefined when the instruction uses shell form. */
export function execForm(args: string): string[] | undefined {
  if (!args.trimStart().startsWith('[')) return undefined;
  const v: unknown = JSON.parse(args);
  return Array.isArray(v) && v.every((x) => typeof x === 'string') ? (v as string[]) : undefined;
}

export interface Healthcheck {
  options: Record<string, string>;
  command: string; // text after CMD
}

export function healthcheck(stage: Stage): Healthcheck | undefined {
  const ins = last(stage, 'HEALTHCHECK');
  if (!ins) return undefined;
  const m = /^((?:--[\w-]+=\S+\s+)*)CMD\s+(.*)$/s.exec(ins.args);
  if (!m) throw new Error(`line ${ins.line}: HEALTHCHECK without CMD`);
  const options: Record<string, string> = {};
  for (const o of m[1].trim().split(/\s+/).filter(Boolean)) {
    const [k, v = ''] = splitOnce(o.slice(2), '=');
    options[k] = v;
  }
  return { options, command: m[2] };
}
