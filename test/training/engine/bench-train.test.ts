// `npm run bench:train` runs end to end on a few steps: the reference net by default, a run
// config's net with --config. A benchmark, not a timed test: only that it ran and reported.
import t from 'tap';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const pkg = JSON.parse(readFileSync(root + 'package.json', 'utf8')) as { scripts: Record<string, string> };
const [node, ...args] = pkg.scripts['bench:train']!.split(' ');

function bench(extra: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile(process.execPath, [...args, '--steps', '2', '--warmup', '1', '--batch', '8', ...extra],
    { cwd: root, timeout: 120_000 }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })));
}

t.equal(node, 'node', 'the npm script runs node');

t.test('the reference net and a run config\'s net', async (t) => {
  const ref = await bench([]);
  t.equal(ref.code, 0, ref.stderr);
  t.match(ref.stdout, /arch\s+sepdil-default \(53514 params\)/);
  t.match(ref.stdout, /throughput\s+\d+ training images\/s/);
  const tiny = await bench(['--config', 'tiny']);
  t.equal(tiny.code, 0, tiny.stderr);
  t.match(tiny.stdout, /arch\s+tiny \(9930 params\)/);
  const both = await bench(['--config', 'tiny', '--arch-json', '/nonexistent.json']);
  t.not(both.code, 0, 'both --config and --arch-json: refused');
  t.match(both.stderr, /not both/);
});
