// Request metrics and the one-line-per-request log (Fastify's own request logging is off).
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  app.decorateRequest('imageCount', 0);
  app.addHook('onResponse', async (request, reply) => {
    const route = request.routeOptions.url ?? 'unmatched';
    const seconds = reply.elapsedTime / 1000;
    app.metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, seconds);
    request.log.info({
      method: request.method,
      url: request.url,
      route,
      statusCode: reply.statusCode,
      responseTimeMs: Math.round(reply.elapsedTime * 100) / 100,
      images: request.imageCount,
    }, 'request completed');
  });
}

export default fp(metricsPlugin, { name: 'metrics' });
