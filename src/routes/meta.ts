// GET /metrics (Prometheus text) and GET /openapi.yaml (the API contract, as committed).
import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import type { FastifyInstance } from 'fastify';

// src/routes/ under tsx; dist/src/routes/ after `npm run build` (the file stays at the repo root).
export const OPENAPI_PATH = [new URL('../../openapi.yaml', import.meta.url), new URL('../../../openapi.yaml', import.meta.url)]
  .find((u) => existsSync(u)) ?? new URL('../../openapi.yaml', import.meta.url);

export default async function metaRoutes(app: FastifyInstance): Promise<void> {
  app.get('/metrics', async (_request, reply) => {
    const body = await app.metrics.registry.metrics();
    return reply.type(app.metrics.registry.contentType).send(body);
  });

  const spec = await readFile(OPENAPI_PATH, 'utf8');
  app.get('/openapi.yaml', async (_request, reply) => reply.type('application/yaml; charset=utf-8').send(spec));
}
