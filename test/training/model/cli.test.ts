import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { loadCheckpoint } from '../../../training/pipeline/checkpoint.js';
import type { CheckpointMeta } from '../../../training/pipeline/run-state.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const smoke = fileURLToPath(new URL('./fixtures/smoke.yaml', import.meta.url));
const cli = (args: string[]) => [process.execPath, ['--import', 'tsx', join(repo, 'training/cli.ts'), ...args]] as const;

function start(args: string[]): { child: ChildProcess; out: () => string; done: Promise<{ code: number | null; signal: NodeJS.Signals | null }> } {
  const [cmd, argv] = cli(args);
  const child = spawn(cmd, argv, { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => child.on('exit', (code, signal) => res({ code, signal })));
  return { child, out: () => out, done };
}

async function waitFor(pred: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (pred()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return pred();
}

const trainArgs = (root: string, run: string, epochs = 3) => ['pretrain', '--config', smoke, '--data', 'mnist', '--subset', '640', '--val-size', '500', '--epochs', String(epochs),
  '--run', run, '--checkpoints', join(root, 'ck'), '--reports', join(root, 'rep'), '--no-progress', '--threads', '1'];

t.test('summary prints per-layer rows, totals and the separable/standard ratio', async (t) => {
  const [cmd, argv] = cli(['summary', '--config', 'tiny']);
  const r = spawnSync(cmd, argv, { cwd: repo, encoding: 'utf8' });
  t.equal(r.status, 0, r.stderr);
  t.match(r.stdout, /stem\s+conv 3×3 1→16\s+16×28×28\s+3\s+176/);
  t.match(r.stdout, /blocks\.4\s+sep 3×3 d3 48→64\s+64×14×14\s+30/);
  t.match(r.stdout, /total\s+9,930\s+2,208,384\s+68,026\s+15,918,976/);
  t.match(r.stdout, /separable \/ standard: params 0\.146 \(6\.9× fewer\), MACs 0\.139 \(7\.2× fewer\)/);
  const bad = spawnSync(cmd, cli(['summary', '--config', 'missing'])[1], { cwd: repo, encoding: 'utf8' });
  t.equal(bad.status, 2);
  t.match(bad.stderr, /error: config "missing" not found/);
});

t.test('Ctrl-C saves a checkpoint and exits cleanly; --resume finishes the run', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cli-int-'));
  const p = start(trainArgs(root, 'int'));
  t.ok(await waitFor(() => /epoch 1\/3/.test(p.out()), 120_000), 'first epoch finished');
  p.child.kill('SIGINT');
  const { code } = await p.done;
  t.equal(code, 130, 'exit code 130');
  t.match(p.out(), /SIGINT: saving a checkpoint/);
  t.match(p.out(), /interrupted at epoch \d, batch \d+\/10; checkpoint .*last\.ckpt \(resume with --resume\)/);
  const mid = loadCheckpoint<CheckpointMeta>(join(root, 'ck/int/last.ckpt')).meta;
  t.notOk(mid.complete);
  const r = start([...trainArgs(root, 'int'), '--resume']);
  t.same(await r.done, { code: 0, signal: null }, r.out());
  t.match(r.out(), new RegExp(`resuming at epoch ${mid.epoch + 1}, batch ${mid.batch} of 10`));
  const fin = loadCheckpoint<CheckpointMeta>(join(root, 'ck/int/last.ckpt')).meta;
  t.ok(fin.complete);
  t.same(fin.history.map((h) => h.epoch), [1, 2, 3]);
  t.ok(existsSync(join(root, 'rep/int/curves-pretrain.png')) && existsSync(join(root, 'rep/int/metrics.json')), 'report written');
});

t.test('SIGKILL at random moments never leaves a corrupt checkpoint and loses at most the current epoch', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cli-kill-'));
  const ck = join(root, 'ck/kill/last.ckpt');
  const E = 10;
  for (let round = 0; round < 5; round++) {
    const p = start([...trainArgs(root, 'kill', E), '--resume']);
    // wait until the run is up (fresh or resumed), then kill at a random moment
    await waitFor(() => /resuming|starting fresh|already complete/.test(p.out()), 60_000);
    await new Promise((r) => setTimeout(r, 100 + Math.random() * 5000));
    const finishedEpochs = [...p.out().matchAll(/kill pretrain epoch (\d+)\/10/g)].map((m) => Number(m[1]));
    p.child.kill('SIGKILL');
    const { signal } = await p.done;
    if (signal !== 'SIGKILL') { t.pass(`round ${round}: run completed before the kill`); break; }
    if (existsSync(ck)) {
      const meta = loadCheckpoint<CheckpointMeta>(ck).meta; // throws on a torn or corrupt file
      t.ok(meta.epoch >= Math.max(0, ...finishedEpochs), `round ${round}: checkpoint intact at epoch ${meta.epoch} (log showed ${finishedEpochs.join(',') || 'none'} done)`);
    } else {
      t.same(finishedEpochs, [], `round ${round}: no checkpoint yet, and no epoch had finished`);
    }
  }
  const r = start([...trainArgs(root, 'kill', E), '--resume']);
  t.same(await r.done, { code: 0, signal: null }, r.out());
  const fin = loadCheckpoint<CheckpointMeta>(ck).meta;
  t.ok(fin.complete);
  t.same(fin.history.map((h) => h.epoch), Array.from({ length: E }, (_, i) => i + 1));
  t.comment(`files left in the run folder: ${readdirSync(join(root, 'ck/kill')).join(', ')}`);
});

// `npm run train` runs its script through sh; the script execs node so that npm's forwarded
// SIGTERM reaches the trainer (not a shell that dies and leaves the trainer orphaned).
function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

t.test('SIGTERM to `npm run train` reaches the trainer: checkpoint saved, exit 130, nothing left running', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'cli-term-'));
  // its own process group, so that the test can tell whether anything of the run outlives npm
  const npm = spawn('npm', ['run', 'train', '--', ...trainArgs(root, 'term', 30)], { cwd: repo, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const pgid = npm.pid!;
  t.teardown(() => { if (groupAlive(pgid)) process.kill(-pgid, 'SIGKILL'); });
  let out = '';
  npm.stdout!.on('data', (d) => (out += d));
  npm.stderr!.on('data', (d) => (out += d));
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((res) => npm.on('exit', (code, signal) => res({ code, signal })));
  t.ok(await waitFor(() => /term pretrain epoch 1\/30/.test(out), 120_000), 'first epoch finished');
  process.kill(npm.pid!, 'SIGTERM'); // npm only, as a supervisor would
  const { code, signal } = await done;
  t.same({ code, signal }, { code: 130, signal: null }, 'npm exits with the trainer\'s status 130');
  t.match(out, /SIGTERM: saving a checkpoint after the current step/);
  t.match(out, /term: interrupted at epoch \d+, batch \d+\/10; checkpoint .*last\.ckpt \(resume with --resume\)/);
  t.ok(await waitFor(() => !groupAlive(pgid), 5_000), 'no process of the run is left (no orphaned trainer)');
  const meta = loadCheckpoint<CheckpointMeta>(join(root, 'ck/term/last.ckpt')).meta;
  t.notOk(meta.complete, 'the checkpoint is the interrupted one');
  t.ok(meta.epoch >= 1 && meta.epoch < 30, `saved at epoch ${meta.epoch}, batch ${meta.batch}`);
});

t.test('`npm run train -- …` passes the arguments through to the CLI', async (t) => {
  const help = spawnSync('npm', ['run', 'train', '--', 'pretrain', '--help'], { cwd: repo, encoding: 'utf8' });
  t.equal(help.status, 0, help.stderr);
  t.match(help.stdout, /Usage: train pretrain \[options\]/);
  t.match(help.stdout, /--resume\s+continue the run from checkpoints\/<run>\/last\.ckpt/);
  // an argument with a space arrives as one argument
  const bad = spawnSync('npm', ['run', 'train', '--', 'pretrain', '--run', 'two words'], { cwd: repo, encoding: 'utf8' });
  t.equal(bad.status, 2, bad.stderr);
  t.match(bad.stderr, /^error: --run "two words": a run name is letters, digits/m);
});
