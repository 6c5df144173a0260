// Prometheus metrics (prom-client). One registry per app instance, so tests can build many apps
// in one process; process metrics (CPU, memory, event-loop lag, GC) come from collectDefaultMetrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export interface ServiceMetrics {
  registry: Registry;
  httpDuration: Histogram<'method' | 'route' | 'status_code'>;
  batchSize: Histogram;
  batchDuration: Histogram<'outcome'>;
  queueDepth: Gauge;
  preprocessDuration: Histogram<'mode'>;
  predictions: Counter<'digit'>;
  rejections: Counter<'reason'>;
  modelInfo: Gauge<'name' | 'version' | 'sha256' | 'provider'>;
  ready: Gauge;
}

export function createMetrics(batchMaxSize: number): ServiceMetrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const sizeBuckets: number[] = [];
  for (let s = 1; s < batchMaxSize; s *= 2) sizeBuckets.push(s);
  sizeBuckets.push(batchMaxSize);
  const registers = [registry];
  return {
    registry,
    httpDuration: new Histogram({
      name: 'http_request_duration_seconds', help: 'HTTP request duration by route and status',
      labelNames: ['method', 'route', 'status_code'], buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers,
    }),
    batchSize: new Histogram({ name: 'inference_batch_size', help: 'Images per onnxruntime run', buckets: sizeBuckets, registers }),
    batchDuration: new Histogram({
      name: 'inference_duration_seconds', help: 'Duration of one onnxruntime run (batch), including the hop to the worker',
      labelNames: ['outcome'], buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers,
    }),
    queueDepth: new Gauge({ name: 'inference_queue_depth', help: 'Images waiting for a batch', registers }),
    preprocessDuration: new Histogram({
      name: 'preprocess_duration_seconds', help: 'Decode + normalise time per image', labelNames: ['mode'],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1], registers,
    }),
    predictions: new Counter({ name: 'predictions_total', help: 'Predictions by predicted digit', labelNames: ['digit'], registers }),
    rejections: new Counter({ name: 'rejections_total', help: 'Requests answered with an error, by error code', labelNames: ['reason'], registers }),
    modelInfo: new Gauge({
      name: 'model_info', help: 'The loaded model and the execution provider it runs on (value 1)',
      labelNames: ['name', 'version', 'sha256', 'provider'], registers,
    }),
    ready: new Gauge({ name: 'service_ready', help: '1 when the model is loaded and warmed and the server is not draining', registers }),
  };
}
