// A file that is not a usable ONNX model is a one-line user error naming the file, not a trace.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync, mkdtempSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ModelFileError, inspectOnnx, inputContractProblem, openOnnx } from '../../../training/pipeline/onnx-file.js';
import { linearOnnx } from './helpers/files.js';

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

t.test('a valid model with the wrong input is a ModelFileError when opened, naming the file and the input', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-input-'));
  const cases: Array<[string, (number | string)[], number[], RegExp]> = [
    ['rgb-14x56', [1, 3, 14, 56], [1, 3 * 14 * 56], /input "input" has shape \[1, 3, 14, 56\]; this pipeline feeds \[N, 1, 28, 28\] float32 with a dynamic batch N/],
    ['fixed-batch', [1, 1, 28, 28], [1, 784], /input "input" has a fixed batch of 1 \(shape \[1, 1, 28, 28\]\)/],
    ['flat', ['N', 784], [-1, 784], /input "input" has shape \[N, 784\]/],
  ];
  for (const [name, dims, flat, re] of cases) {
    const file = join(dir, `${name}.onnx`);
    writeFileSync(file, linearOnnx(dims, flat));
    t.equal(inspectOnnx(readFileSync(file), file).outputNames.join(','), 'logits,probabilities', `${name}: a well-formed model`);
    await t.rejects(openOnnx(file, 1), ModelFileError, `${name}: ModelFileError`);
    await t.rejects(openOnnx(file, 1), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: ${re.source}`) }, `${name}: names the file and the input`);
  }
  t.equal(inputContractProblem(inspectOnnx(shipped)), null, 'the shipped model meets the contract');
  const ok = await openOnnx(linearOnnx(['batch', 1, 28, 28], [-1, 784]), 1);
  t.equal((await ok.logits(new Float32Array(3 * 784), 3)).length, 30, 'a conforming model opens and runs');
  await ok.close();
});

t.test('onnxruntime errors while scoring are ModelFileErrors naming the file', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'onnx-run-'));
  // declares a dynamic batch but reshapes to a batch of 1: loads, fails on any other batch
  const file = join(dir, 'batch-one-inside.onnx');
  writeFileSync(file, linearOnnx(['N', 1, 28, 28], [1, 784]));
  const s = await openOnnx(file, 1);
  t.equal((await s.logits(new Float32Array(784), 1)).length, 10, 'a batch of 1 runs');
  await t.rejects(s.logits(new Float32Array(4 * 784), 4), ModelFileError);
  await t.rejects(s.probabilities(new Float32Array(4 * 784), 4), { message: new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: onnxruntime cannot run it on a batch of 4 \\(.+\\)$`) });
  await s.close();
  const sub = join(dir, 'sub.onnx');
  mkdirSync(sub);
  await t.rejects(openOnnx(sub, 1), { message: `${sub}: is a directory, not an ONNX model file` });
});
