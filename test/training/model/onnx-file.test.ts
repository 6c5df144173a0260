// A file that is not a usable ONNX model is a one-line user error naming the file, not a trace.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFileError, inspectOnnx, openOnnx } from '../../../training/pipeline/onnx-file.js';

const shipped = readFileSync(new URL('../../../models/digits-tiny.onnx', import.meta.url));

t.test('garbage, random bytes and truncated models are ModelFileErrors naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-file-'));
  const cases: Array<[string, Uint8Array]> = [
    ['text', Buffer.from('garbage\n')],
    ['random', randomBytes(2000)],
    ['truncated', shipped.subarray(0, Math.floor(shipped.length / 3))],
  ];
  for (const [name, bytes] of cases) {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, bytes);
    await t.rejects(openOnnx(file, 1), ModelFileError, `${name}: ModelFileError`);
    await t.rejects(openOnnx(file, 1), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: `) }, `${name}: names the file`);
  }
});

t.test('the shipped model still reads', async (t) => {
  const info = inspectOnnx(shipped, 'digits-tiny.onnx');
  t.same(info.outputNames.sort(), ['logits', 'probabilities']);
});
