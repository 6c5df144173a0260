// Liveness (process up) is separate from readiness (model loaded, warmed, not draining).
import type { FastifyInstance } from 'fastify';

export default async function probeRoutes(app: FastifyInstance): Promise<void> {
  app.get('/healthz', async () => ({ status: 'ok', uptime_s: Math.round(process.uptime() * 10) / 10 }));

  app.get('/readyz', async (_request, reply) => {
    const host = app.host;
    if (host.state === 'ready') {
      return { status: 'ready', model: host.identity, provider: host.provider };
    }
    const reason = host.state === 'failed' ? `model failed to load: ${host.loadError?.message ?? 'unknown error'}`
      : host.state === 'loading' ? 'model is loading and warming up'
      : 'server is shutting down';
    void reply.header('Retry-After', '1');
    return reply.status(503).send({ status: host.state, reason });
  });
}
