// Just enough of the Prometheus text exposition format to read one histogram (buckets, sum,
// count) from GET /metrics, and to subtract two scrapes so a scenario sees only its own batches.
/** Images per onnxruntime run, as src/metrics.ts names it. */
export const BATCH_SIZE_METRIC = 'inference_batch_size';

export interface Histogram {
  /** Cumulative counts by upper bound ("+Inf" last), as exposed. */
  buckets: Array<{ le: number; count: number }>;
  sum: number;
  count: number;
}

const LINE = /^([a-zA-Z_:][\w:]*)(?:\{([^}]*)\})?\s+(\S+)/;

export function readHistogram(text: string, name: string): Histogram | undefined {
  const buckets = new Map<number, number>();
  let sum: number | undefined;
  let count: number | undefined;
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = LINE.exec(line);
    if (!m) continue;
    const [, metric, labels = '', value] = m;
    if (metric === `${name}_bucket`) {
      const le = /le="([^"]+)"/.exec(labels)?.[1];
      if (le === undefined) continue;
      const bound = le === '+Inf' ? Infinity : Number(le);
      buckets.set(bound, (buckets.get(bound) ?? 0) + Number(value)); // summed over other labels
    } else if (metric === `${name}_sum`) sum = (sum ?? 0) + Number(value);
    else if (metric === `${name}_count`) count = (count ?? 0) + Number(value);
  }
  if (sum === undefined || count === undefined) return undefined;
  return { buckets: [...buckets].sort((a, b) => a[0] - b[0]).map(([le, c]) => ({ le, count: c })), sum, count };
}

/** after − before, bucket by bucket (both scrapes of the same, monotonically growing histogram). */
export function diffHistogram(after: Histogram, before: Histogram | undefined): Histogram {
  if (!before) return after;
  const prev = new Map(before.buckets.map((b) => [b.le, b.count]));
  return {
    buckets: after.buckets.map((b) => ({ le: b.le, count: b.count - (prev.get(b.le) ?? 0) })),
    sum: after.sum - before.sum,
    count: after.count - before.count,
  };
}

export function histogramMean(h: Histogram): number {
  return h.count > 0 ? h.sum / h.count : 0;
}

/** Upper bound of the bucket holding quantile q (Prometheus' histogram_quantile without interpolation). */
export function histogramQuantileBound(h: Histogram, q: number): number {
  const target = q * h.count;
  for (const b of h.buckets) if (b.count >= target && b.count > 0) return b.le;
  return Infinity;
}
