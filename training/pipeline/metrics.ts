// Classification metrics from logits: accuracy, mean cross-entropy, confusion matrix,
// per-class precision/recall, and the misclassified examples (for the report grid).
import { PIXELS, type DataView } from '../data/dataset.js';
import { evalChunks } from '../data/batches.js';

export type LogitsFn = (x: Float32Array, n: number) => Promise<Float32Array>;

export interface Misclassified {
  /** index into the view */
  position: number;
  label: number;
  predicted: number;
  confidence: number;
}

export interface EvalMetrics {
  n: number;
  correct: number;
  accuracy: number;
  loss: number;
  confusion: number[][];
  perClass: { label: string; support: number; precision: number; recall: number }[];
  misclassified: Misclassified[];
}

/** Run `logits` over a view in chunks and score it. */
export async function evaluateView(logits: LogitsFn, view: DataView, chunk = 1000): Promise<EvalMetrics> {
  const classes = view.ds.classNames.length;
  const confusion = Array.from({ length: classes }, () => new Array<number>(classes).fill(0));
  const mis: Misclassified[] = [];
  let lossSum = 0;
  let correct = 0;
  for (const c of evalChunks(view, chunk)) {
    const z = await logits(c.x, c.n);
    if (z.length !== c.n * classes) throw new Error(`model returned ${z.length} logits for ${c.n} images × ${classes} classes`);
    for (let i = 0; i < c.n; i++) {
      let max = -Infinity, arg = 0;
      for (let k = 0; k < classes; k++) { const v = z[i * classes + k]!; if (v > max) { max = v; arg = k; } }
      let sum = 0;
      for (let k = 0; k < classes; k++) sum += Math.exp(z[i * classes + k]! - max);
      const label = c.y[i]!;
      lossSum += Math.log(sum) - (z[i * classes + label]! - max);
      confusion[label]![arg]! += 1;
      if (arg === label) correct += 1;
      else mis.push({ position: c.from + i, label, predicted: arg, confidence: 1 / sum });
    }
  }
  const n = view.indices.length;
  const perClass = view.ds.classNames.map((label, k) => {
    const support = confusion[k]!.reduce((a, b) => a + b, 0);
    const predicted = confusion.reduce((a, r) => a + r[k]!, 0);
    return { label, support, precision: predicted ? confusion[k]![k]! / predicted : 0, recall: support ? confusion[k]![k]! / support : 0 };
  });
  mis.sort((a, b) => b.confidence - a.confidence);
  return { n, correct, accuracy: correct / n, loss: lossSum / n, confusion, perClass, misclassified: mis };
}

/** The pixels of view item `position` (for drawing). */
export function viewPixelsOffset(view: DataView, position: number): number {
  return view.indices[position]! * PIXELS;
}
