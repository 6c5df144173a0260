// A bad input the user gave (a model with the wrong input, a corrupt or foreign checkpoint, a
// directory where a file goes, a run name that is a path) is one `error: …` line and exit 2, not
// a stack trace. These spawn the real CLI, like cli.test.ts.
import t, { type Test } from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, readdirSync, existsSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';
import { linearOnnx, reencodeHeader } from './helpers/files.js';

const repo = fileURLToPath(new URL('../../../', import.meta.url));
const smoke = fileURLToPath(new URL('./fixtures/smoke.yaml', import.meta.url));
// root sits one level down, so that `--run ../../escape` (from root/ck) would land in base/escape
const base = mkdtempSync(join(tmpdir(), 'cli-errors-'));
const root = join(base, 'r');
mkdirSync(root);
const roots = ['--checkpoints', join(root, 'ck'), '--reports', join(root, 'rep'), '--no-progress', '--threads', '1'];
const quick = ['--config', smoke, '--data', 'mnist', '--subset', '128', '--val-size', '64', '--epochs', '1', ...roots];

function cli(args: string[]) {
  return spawnSync(process.execPath, ['--import', 'tsx', join(repo, 'training/cli.ts'), ...args], { cwd: repo, encoding: 'utf8' });
}

const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** exit 2 and exactly one stderr line, `error: ` + the pattern, no stack */
function oneLineError(t: Test, args: string[], re: RegExp, what: string) {
  const r = cli(args);
  const lines = r.stderr.split('\n').filter((l) => l.trim() !== '');
  t.equal(r.status, 2, `${what}: exit 2`);
  t.equal(lines.length, 1, `${what}: one line on stderr\n${r.stderr}`);
  t.match(lines[0] ?? '', new RegExp(`^error: ${re.source}`), `${what}: ${lines[0]}`);
  return r;
}

// a real small checkpoint (the run name shows that names with . _ - are fine)
const ckpt = join(root, 'ck/small_run.v2-1/last.ckpt');
t.before(() => {
  const r = cli(['pretrain', '--run', 'small_run.v2-1', ...quick]);
  if (r.status !== 0 || !existsSync(ckpt)) throw new Error(`setup run failed:\n${r.stderr}`);
});
const corrupt = (name: string, mutate: (h: Record<string, any>) => unknown) => {
  const f = join(root, `${name}.ckpt`);
  writeFileSync(f, reencodeHeader(readFileSync(ckpt), mutate));
  return f;
};

t.test('evaluate: a valid ONNX model with the wrong input, or one onnxruntime cannot run', async (t) => {
  const rgb = join(root, 'rgb.onnx');
  writeFileSync(rgb, linearOnnx([1, 3, 14, 56], [1, 3 * 14 * 56]));
  oneLineError(t, ['evaluate', '--model', rgb, ...roots], new RegExp(`${esc(rgb)}: input "input" has shape \\[1, 3, 14, 56\\]; this pipeline feeds \\[N, 1, 28, 28\\] float32 with a dynamic batch N$`), '3 channels, fixed batch 1, 14×56');
  const inner = join(root, 'batch-one-inside.onnx');
  writeFileSync(inner, linearOnnx(['N', 1, 28, 28], [1, 784]));
  oneLineError(t, ['evaluate', '--model', inner, ...roots], new RegExp(`${esc(inner)}: onnxruntime cannot run it on a batch of \\d+ \\(Reshape node 'reshape': .*\\)$`), 'fails inside onnxruntime');
});

t.test('a checkpoint with a corrupt header, on evaluate, --resume and finetune --from', async (t) => {
  const huge = corrupt('huge-length', (h) => { h.tensors[0].length = 2 ** 40; });
  oneLineError(t, ['evaluate', '--model', huge, ...roots], new RegExp(`${esc(huge)}: corrupt header: tensor ".+" has length 1099511627776, its shape`), 'huge length');
  const off = corrupt('huge-offset', (h) => { h.tensors[0].offset = 2 ** 40; });
  oneLineError(t, ['export', '--from', off, '--out', join(root, 'x.onnx'), ...roots], new RegExp(`${esc(off)}: corrupt header: tensor ".+" \\(bytes .*\\) lies outside the \\d+-byte data section$`), 'huge offset');
  const nullMeta = corrupt('meta-null', (h) => { h.meta = null; });
  oneLineError(t, ['evaluate', '--model', nullMeta, ...roots], new RegExp(`${esc(nullMeta)}: corrupt header: meta is null, not an object$`), 'meta: null');
  const noTensors = corrupt('no-tensors', (h) => { delete h.tensors; });
  oneLineError(t, ['finetune', '--from', noTensors, ...quick], new RegExp(`${esc(noTensors)}: corrupt header: tensors is missing$`), 'no tensors key');
  const empty = corrupt('meta-empty', (h) => { h.meta = {}; });
  oneLineError(t, ['finetune', '--from', empty, ...quick], new RegExp(`${esc(empty)}: not an onnx-digits training checkpoint \\(meta\\.format is missing\\)$`), 'meta: {} on finetune --from');
  const resumed = join(root, 'ck/resumed/last.ckpt');
  mkdirSync(join(root, 'ck/resumed'), { recursive: true });
  copyFileSync(empty, resumed);
  oneLineError(t, ['pretrain', '--run', 'resumed', '--resume', ...quick], new RegExp(`${esc(resumed)}: not an onnx-digits training checkpoint`), 'meta: {} on --resume');
  const noEpochs = corrupt('meta-no-epochs', (h) => { delete h.meta.epochs; });
  oneLineError(t, ['evaluate', '--model', noEpochs, ...roots], new RegExp(`${esc(noEpochs)}: corrupt checkpoint meta: meta\\.epochs: `), 'meta without epochs');
});

t.test('finetune --from a checkpoint that lacks a tensor; evaluate of one', async (t) => {
  const lacking = corrupt('lacking', (h) => { h.tensors = h.tensors.filter((e: { name: string }) => e.name !== 'stem.conv.weight'); });
  oneLineError(t, ['finetune', '--from', lacking, ...quick], new RegExp(`${esc(lacking)}: has no tensor stem\\.conv\\.weight \\(was it trained with another architecture\\?\\)$`), 'finetune --from');
  oneLineError(t, ['evaluate', '--model', lacking, ...roots], new RegExp(`${esc(lacking)}: does not fit the network it names \\(state has no tensor stem\\.conv\\.weight`), 'evaluate');
});

t.test('a directory where a file is expected, or a file where a directory is', async (t) => {
  const dir = (name: string) => { const d = join(root, name); mkdirSync(d, { recursive: true }); return d; };
  const yaml = dir('dir.yaml'), onnx = dir('dir.onnx'), ck = dir('dir.ckpt'), out = dir('out/dir.onnx');
  oneLineError(t, ['summary', '--config', yaml], new RegExp(`--config ${esc(yaml)}: is a directory, not a YAML file$`), 'summary --config DIR.yaml');
  oneLineError(t, ['evaluate', '--model', onnx, ...roots], new RegExp(`${esc(onnx)}: is a directory, not an ONNX model file$`), 'evaluate --model DIR.onnx');
  oneLineError(t, ['finetune', '--from', ck, ...quick], new RegExp(`${esc(ck)}: is a directory, not a checkpoint file$`), 'finetune --from DIR.ckpt');
  oneLineError(t, ['export', '--from', ckpt, '--out', out, ...roots], new RegExp(`--out ${esc(out)}: is a directory; give a file name$`), 'export --out DIR.onnx');
  t.same(readdirSync(join(root, 'out')), ['dir.onnx'], 'no temp file left next to it');
  // the CLI's file-system errors in general: one line naming the path
  const file = join(root, 'a-file');
  writeFileSync(file, 'x');
  oneLineError(t, ['augment-grid', '--out', join(file, 'grid.png'), '--samples', '1', '--per', '1'], new RegExp(`${esc(file)}: .+ \\((EEXIST|ENOTDIR), mkdir\\)$`), 'augment-grid --out FILE/grid.png');
});

t.test('run names are one directory name: no path escapes the checkpoint and report roots', async (t) => {
  const before = readdirSync(root).sort();
  for (const [cmd, name] of [['pretrain', '../../escape'], ['finetune', 'a/b'], ['pretrain', '..'], ['pretrain', '.'], ['pipeline', '../up'], ['pretrain', 'x\\y']]) {
    const extra = cmd === 'finetune' ? ['--from', ckpt] : [];
    const args = cmd === 'pipeline' ? [cmd, '--run', name!, '--config', smoke, '--subset', '64', '--out', join(root, 'up.onnx'), ...roots] : [cmd, '--run', name!, ...extra, ...quick];
    oneLineError(t, args, new RegExp(`--run ${esc(JSON.stringify(name))}: a run name is letters, digits, "\\.", "_" and "-"`), `${cmd} --run ${name}`);
  }
  oneLineError(t, ['ablation', 'pretrain', '--pipeline-run', '../p', '--config', smoke, ...roots], /--pipeline-run "\.\.\/p": a run name/, 'ablation pretrain --pipeline-run ../p');
  t.same(readdirSync(root).sort(), before, 'nothing new beside the roots');
  t.same(readdirSync(base), ['r'], 'nothing written outside the root (../../escape would be base/escape)');
});

t.test('evaluate reports a wall time under a minute in seconds', async (t) => {
  const rep = join(root, 'eval-report');
  const r = cli(['evaluate', '--model', ckpt, '--data', 'mnist', '--report', rep, ...roots]);
  t.equal(r.status, 0, r.stderr);
  t.match(readFileSync(join(rep, 'summary.md'), 'utf8'), /^Wall time: \d+\.\d s$/m);
});
