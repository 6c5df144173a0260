// The report's summary.md: durations read in seconds below a minute (an evaluation takes seconds).
import t from 'tap';
import { mkdtempSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmpdir } from 'node:os';
import { formatDuration, writeReport } from '../../../training/pipeline/report/write.js';

t.test('summary.md shows the wall time in seconds below a minute, minutes above', async (t) => {
  const root = mkdtempSync(join(tmpdir(), 'report-'));
  for (const [seconds, shown] of [[2.34, '2.3 s'], [0.04, '0.0 s'], [59.9, '59.9 s'], [60, '1.0 min'], [1074, '17.9 min']] as const) {
    const dir = join(root, String(seconds));
    await writeReport(dir, { run: 'r', title: 'Evaluation of m.onnx', phases: [], command: 'npm run train -- evaluate --model m.onnx', wallSeconds: seconds });
    t.match(readFileSync(join(dir, 'summary.md'), 'utf8'), new RegExp(`^Wall time: ${shown.replace('.', '\\.')}$`, 'm'), `${seconds} s → ${shown}`);
  }
  t.equal(formatDuration(59.96), '1.0 min', 'no "60.0 s": rounding up to a minute shows minutes');
  t.equal(formatDuration(59.94), '59.9 s');
});
