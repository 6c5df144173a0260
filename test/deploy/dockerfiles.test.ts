// Static checks of docker/Dockerfile and docker/Dockerfile.cuda (no Docker engine here, so the
// images are never built in CI): what each stage copies exists and reaches the build context,
// the final stage runs as a non-root user with exec-form CMD/ENTRYPOINT and a /healthz
// HEALTHCHECK, and every ENV the image sets is a variable the zod config knows and accepts.
import t from 'tap';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CONFIG_ENV_NAMES, loadConfig } from '../../src/config.js';
import { copies, envOf, execForm, finalStage, healthcheck, last, readDockerfile, stageByName, type Dockerfile } from './helpers/dockerfile.js';
import { isIncluded, readDockerignore } from './helpers/dockerignore.js';
import { ROOT } from './helpers/repo.js';

const DOCKERFILES = ['docker/Dockerfile', 'docker/Dockerfile.cuda'] as const;
// Variables the image sets for node / CUDA themselves, not for the service's config.
const RUNTIME_ENV = new Set(['NODE_ENV', 'CUDA_CACHE_PATH']);
const ignore = readDockerignore(join(ROOT, '.dockerignore'));

for (const file of DOCKERFILES) {
  const df: Dockerfile = readDockerfile(join(ROOT, file));
  const final = finalStage(df);

  t.test(`${file}: multi-stage, every COPY source exists and is in the build context`, async (t) => {
    t.ok(df.stages.length >= 2, 'at least a deps stage and a runtime stage');
    const names = new Set(df.stages.map((s) => s.name).filter((n): n is string => n !== undefined));
    for (const stage of df.stages) {
      for (const c of copies(stage)) {
        if (c.from !== undefined) {
          t.ok(names.has(c.from), `line ${c.line}: --from=${c.from} names a stage of this file`);
          continue;
        }
        for (const src of c.sources) {
          t.ok(existsSync(join(ROOT, src)), `line ${c.line}: ${src} exists in the repository`);
          t.ok(isIncluded(ignore, src), `line ${c.line}: ${src} is not excluded by .dockerignore`);
        }
      }
    }
  });

  t.test(`${file}: production dependencies only, installed in a build stage`, async (t) => {
    const runs = (name: string) =>
      stageByName(df, name)?.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n') ?? '';
    t.match(runs('deps'), /npm ci\b[^\n]*--omit=dev/, 'deps stage runs npm ci --omit=dev');
    const finalRuns = final.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
    t.notMatch(finalRuns, /\bnpm (ci|install)\b/, 'the final stage installs no npm packages itself');
    const nm = copies(final).find((c) => c.dest.replace(/\/$/, '').endsWith('node_modules'));
    t.equal(nm?.from, 'deps', 'node_modules comes from the deps stage');
    const sources = copies(final).filter((c) => c.from === undefined).flatMap((c) => c.sources);
    for (const devOnly of ['test', 'training', 'bench', 'node_modules', '.git']) {
      t.notOk(sources.includes(devOnly), `final stage does not copy ${devOnly}/`);
    }
    t.ok(existsSync(join(ROOT, 'package-lock.json')), 'npm ci needs the lockfile');
  });

  t.test(`${file}: non-root, exec-form entrypoint, HEALTHCHECK on /healthz`, async (t) => {
    const user = last(final, 'USER')?.args.split(':')[0];
    t.ok(user !== undefined && user !== 'root' && user !== '0', `final stage USER is non-root (${user})`);
    t.match(user ?? '', /^\d+$/, 'numeric USER, so Kubernetes runAsNonRoot can verify it');

    const entryIns = last(final, 'ENTRYPOINT');
    const entry = entryIns ? execForm(entryIns.args) : undefined;
    if (entryIns) t.ok(entry, 'ENTRYPOINT is exec form');
    const cmd = execForm(last(final, 'CMD')?.args ?? '');
    t.ok(cmd, 'CMD is exec form (no /bin/sh -c between docker and node)');
    const argv = [...(entry ?? []), ...(cmd ?? [])];
    t.notOk(argv.some((a) => /^(\/bin\/)?(ba)?sh$/.test(a)), 'no shell wrapper in the start command');
    if (entry) t.match(entry[0], /tini|dumb-init/, 'PID 1 is an init that forwards signals');
    const nodeAt = argv.indexOf('node');
    t.ok(nodeAt >= 0, 'runs node');
    const script = argv.at(-1)!;
    t.ok(existsSync(join(ROOT, script)), `start script ${script} exists`);
    const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
    // `exec` only makes sh hand signals to node under npm; the image runs node directly.
      t.equal(argv.slice(nodeAt).join(' '), pkg.scripts.start.replace(/^exec /, ''), 'same command as `npm start` (without npm in between)');
    t.equal(last(final, 'STOPSIGNAL')?.args ?? 'SIGTERM', 'SIGTERM', 'stop signal is SIGTERM');

    const hc = healthcheck(final);
    t.ok(hc, 'HEALTHCHECK present');
    const hcArgv = execForm(hc?.command ?? '');
    t.ok(hcArgv, 'HEALTHCHECK CMD is exec form');
    const hcScript = hcArgv?.find((a) => a.endsWith('.mjs'));
    t.ok(hcScript && copies(final).some((c) => c.sources.includes(hcScript)), 'the healthcheck script is copied into the image');
    t.match(readFileSync(join(ROOT, hcScript ?? 'docker/healthcheck.mjs'), 'utf8'), /\/healthz/, 'probe script requests /healthz');
    t.ok(hc?.options.timeout, 'HEALTHCHECK has a timeout');
  });

  t.test(`${file}: ENV and EXPOSE agree with the zod config`, async (t) => {
    const env = envOf(final);
    for (const name of Object.keys(env).filter((n) => !RUNTIME_ENV.has(n))) {
      t.ok((CONFIG_ENV_NAMES as string[]).includes(name), `ENV ${name} is a config variable`);
    }
    const config = loadConfig(env); // throws ConfigError naming the variable if a value is invalid
    t.equal(last(final, 'EXPOSE')?.args.split('/')[0], String(config.PORT), 'EXPOSE matches PORT');
    t.equal(config.HOST, '0.0.0.0', 'listens on all interfaces inside the container');
    const workdir = last(final, 'WORKDIR')?.args ?? '/';
    const modelInRepo = config.MODEL_PATH.startsWith(workdir + '/') ? config.MODEL_PATH.slice(workdir.length + 1) : config.MODEL_PATH;
    t.ok(
      copies(final).some((c) => c.from === undefined && c.sources.some((s) => modelInRepo === s || modelInRepo.startsWith(s.replace(/\/$/, '') + '/'))),
      `MODEL_PATH ${config.MODEL_PATH} is inside a copied folder`,
    );
    t.ok(isIncluded(ignore, modelInRepo), `${modelInRepo} is in the build context`);
  });
}

t.test('docker/Dockerfile.cuda: CUDA 12 + cuDNN base, CUDA provider fetched at build only', async (t) => {
  const df = readDockerfile(join(ROOT, 'docker/Dockerfile.cuda'));
  const final = finalStage(df);
  t.match(final.base, /^nvidia\/cuda:12\.[\d.]+-cudnn[^-]*-runtime-/, 'final stage is a CUDA 12 cuDNN runtime image');
  const deps = stageByName(df, 'deps')!;
  t.equal(envOf(deps).ONNXRUNTIME_NODE_INSTALL, 'cuda12', 'deps stage opts in to the CUDA provider download');
  t.equal(envOf(final).ONNXRUNTIME_NODE_INSTALL, undefined, 'the runtime image does not carry the install flag');
  t.same(loadConfig(envOf(final)).EXECUTION_PROVIDERS, ['cuda', 'cpu'], 'EXECUTION_PROVIDERS=cuda,cpu');
  const depsRuns = deps.instructions.filter((i) => i.keyword === 'RUN').map((i) => i.args).join('\n');
  t.match(depsRuns, /libonnxruntime_providers_cuda\.so/, 'the build fails if the provider library did not arrive');
  // onnxruntime-node's postinstall reads this variable before the npm config (.npmrc's skip).
  const installUtils = readFileSync(join(ROOT, 'node_modules/onnxruntime-node/script/install-utils.js'), 'utf8');
  t.match(installUtils, /process\.env\.ONNXRUNTIME_NODE_INSTALL \|\| process\.env\.npm_config_onnxruntime_node_install/);
});

t.test('the CPU image never fetches the CUDA provider', async (t) => {
  const df = readDockerfile(join(ROOT, 'docker/Dockerfile'));
  for (const s of df.stages) t.equal(envOf(s).ONNXRUNTIME_NODE_INSTALL, undefined, `stage ${s.name ?? s.base}`);
  t.match(readFileSync(join(ROOT, '.npmrc'), 'utf8'), /^onnxruntime-node-install=skip$/m, '.npmrc (copied into deps) keeps skip');
  t.ok(copies(stageByName(df, 'deps')!).some((c) => c.sources.includes('.npmrc')), 'deps stage copies .npmrc');
});

t.test('.dockerignore keeps the context small', async (t) => {
  for (const p of ['node_modules/sharp/package.json', '.git/HEAD', 'checkpoints/x.bin', 'test/scaffold.test.ts', 'training/README-api.md', 'bench/results/load.json']) {
    t.notOk(isIncluded(ignore, p), `${p} is not sent to the builder`);
  }
  for (const p of ['src/server.ts', 'package-lock.json', 'models/digits.onnx', 'openapi.yaml']) {
    t.ok(isIncluded(ignore, p), `${p} is sent to the builder`);
  }
});
