// GET /v1/models: the model card (ONNX metadata_props), its input/output contract as read from
// the loaded file, and the execution provider in use.
import type { FastifyInstance } from 'fastify';
import { AppError } from '../errors.js';

export default async function modelRoutes(app: FastifyInstance): Promise<void> {
  app.get('/v1/models', async () => {
    const host = app.host;
    const d = host.description;
    if (!d) throw new AppError('not_ready', 'the model is not loaded yet', { retryAfter: 1 });
    const structured = parseCardJson(d.metadata.model_card);
    return {
      models: [{
        ...host.identity,
        ready: host.state === 'ready',
        provider: host.provider,
        card: d.metadata,
        inputs: d.inputs,
        outputs: d.outputs,
        classes: d.classes,
        producer: d.producer,
        opset: d.opset,
        probabilities_output: d.probabilitiesOutput,
        softmax_applied_by_service: d.softmaxApplied,
        ...(structured ? { model_card: structured } : {}),
      }],
    };
  });
}

/** The training pipeline stores the whole card as JSON under metadata_props "model_card". */
function parseCardJson(text: string | undefined): Record<string, unknown> | undefined {
  if (!text) return undefined;
  try {
    const v: unknown = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
