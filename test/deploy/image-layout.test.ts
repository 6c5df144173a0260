// The CPU image's final stage, rebuilt without Docker: only the paths docker/Dockerfile COPYs,
// laid out under a temp WORKDIR, started with the image's own ENV and CMD. If serving needs a
// file the Dockerfile forgets, this fails. node_modules is linked from the checkout (its dev
// packages are then present too), so a second check proves src/ imports only `dependencies`:
// the image installs with `npm ci --omit=dev`.
import t from 'tap';
import { spawn } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { encodePng, loadDigits, digitAt } from '../../bench/lib/payloads.js';
import { freeLoopbackPort } from '../../bench/lib/server-process.js';
import { copies, envOf, execForm, finalStage, last, readDockerfile } from './helpers/dockerfile.js';
import { ROOT } from './helpers/repo.js';

const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>; devDependencies: Record<string, string>;
};

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? tsFiles(p) : /\.(ts|js|mjs)$/.test(f) ? [p] : [];
  });
}

t.test('src/ imports only packages the image installs (dependencies, not devDependencies)', async (t) => {
  const builtins = new Set(builtinModules);
  const used = new Map<string, string>();
  for (const file of tsFiles(join(ROOT, 'src'))) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(/(?:^|[^\w.])(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|^import\s+['"]([^'"]+)['"]/gm)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.') || spec.startsWith('node:') || builtins.has(spec) || spec.startsWith('/')) continue;
      const name = spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0];
      used.set(name, relative(ROOT, file));
    }
  }
  t.ok(used.size > 0, 'found the package imports');
  for (const [name, file] of used) t.ok(pkg.dependencies[name], `${name} (imported by ${file}) is in dependencies`);
  const cmd = execForm(last(finalStage(readDockerfile(join(ROOT, 'docker/Dockerfile'))), 'CMD')!.args)!;
  const loader = cmd[cmd.indexOf('--import') + 1];
  t.ok(pkg.dependencies[loader], `the CMD's --import ${loader} is in dependencies`);
});

t.test('the final stage of docker/Dockerfile, laid out without Docker, serves', async (t) => {
  const stage = finalStage(readDockerfile(join(ROOT, 'docker/Dockerfile')));
  const workdir = last(stage, 'WORKDIR')?.args ?? '/';
  const app = mkdtempSync(join(tmpdir(), 'onnx-digits-image-'));
  t.teardown(() => rmSync(app, { recursive: true, force: true }));
  const inImage = (p: string) => join(app, p.startsWith('/') ? relative(workdir, p) : p);

  for (const c of copies(stage)) {
    if (c.from !== undefined) {
      // From the deps stage: production node_modules. Linked from the checkout here.
      t.match(c.sources.join(' '), /node_modules/, `COPY --from=${c.from} brings node_modules only`);
      symlinkSync(join(ROOT, 'node_modules'), inImage(c.dest.replace(/\/$/, '')), 'dir');
      continue;
    }
    for (const src of c.sources) {
      // Docker semantics: a directory source copies its contents into dest; a file lands in
      // dest/ (dest ends with /) or at dest.
      const isDir = statSync(join(ROOT, src)).isDirectory();
      const dest = isDir || !c.dest.endsWith('/') ? inImage(c.dest) : join(inImage(c.dest), src.split('/').at(-1)!);
      mkdirSync(isDir ? dest : dirname(dest), { recursive: true });
      cpSync(join(ROOT, src), dest, { recursive: true });
    }
  }

  const port = await freeLoopbackPort();
  const imageEnv = envOf(stage);
  const env: Record<string, string> = { ...imageEnv, HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn' };
  for (const [k, v] of Object.entries(env)) if (v.startsWith(workdir + '/')) env[k] = inImage(v);
  if (!t.ok(existsSync(env.MODEL_PATH), `MODEL_PATH ${imageEnv.MODEL_PATH} is in the image (${relative(app, env.MODEL_PATH)} must be committed)`)) return;
  const argv = execForm(last(stage, 'CMD')!.args)!;
  t.equal(argv[0], 'node');
  const child = spawn(process.execPath, argv.slice(1), {
    cwd: app,
    env: { PATH: process.env.PATH ?? '', HOME: app, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => { output += d.toString(); });
  child.stderr.on('data', (d: Buffer) => { output += d.toString(); });
  const exited = new Promise<number | null>((res) => child.once('exit', (code) => res(code)));
  t.teardown(() => { if (child.exitCode === null) child.kill('SIGKILL'); });

  const base = `http://127.0.0.1:${port}`;
  let ready = false;
  for (let i = 0; i < 600 && child.exitCode === null && !ready; i++) {
    ready = await fetch(`${base}/readyz`).then((r) => r.ok, () => false);
    if (!ready) await new Promise((r) => setTimeout(r, 100));
  }
  t.ok(ready, `ready on the image layout (server output: ${output.slice(-2000)})`);
  if (!ready) return;

  for (const path of ['/healthz', '/metrics', '/openapi.yaml', '/v1/models', '/']) {
    const res = await fetch(base + path);
    t.equal(res.status, 200, `GET ${path}`);
  }
  const digits = loadDigits(1);
  const res = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: await encodePng(digitAt(digits, 0)) });
  t.equal(res.status, 200, 'POST /predict with a PNG');
  const body = (await res.json()) as { predictions: Array<{ digit: number }> };
  t.equal(body.predictions.length, 1, 'one prediction');

  child.kill('SIGTERM'); // what `docker stop` sends (through tini) to the exec-form CMD
  t.equal(await exited, 0, 'SIGTERM -> drains and exits 0');
});
