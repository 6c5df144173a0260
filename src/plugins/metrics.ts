// Request metrics and the one-line-per-request log (Fastify's own request logging is off).
// Expected refusals (4xx, 503 overloaded / not_ready / shutting_down) are logged at info: under
// overload they come by the thousand per second, and a warn each would flood even LOG_LEVEL=warn
// (a blocked stdout pipe stalls the process). So is a 5xx the client caused (the 504 for an upload
// it stalled): nothing of ours failed. Our own failures (500, 504) are logged at error.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import fp from 'fastify-plugin';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the error handler from AppError.clientFault: a 5xx logged at info (the client's doing). */
    clientFault?: boolean;
  }
}

/**
 * The duration metric and the one request line, for a response that finished. `elapsedMs`: when
 * Fastify did not time the reply (frameworkErrors, which runs no hooks), the caller's own measure.
 */
export function recordResponse(request: FastifyRequest, reply: FastifyReply, elapsedMs = reply.elapsedTime): void {
  const app = request.server;
  const route = request.routeOptions.url ?? 'unmatched';
  app.metrics.httpDuration.observe({ method: request.method, route, status_code: String(reply.statusCode) }, elapsedMs / 1000);
  const level = reply.statusCode >= 500 && reply.statusCode !== 503 && !request.clientFault ? 'error' : 'info';
  request.log[level]({
    method: request.method,
    url: request.url,
    route,
    statusCode: reply.statusCode,
    responseTimeMs: Math.round(elapsedMs * 100) / 100,
    images: request.imageCount,
    ...(request.errorCode ? { code: request.errorCode } : {}),
  }, 'request completed');
}

async function metricsPlugin(app: FastifyInstance): Promise<void> {
  app.decorateRequest('imageCount', 0);
  app.addHook('onResponse', async (request, reply) => { recordResponse(request, reply); });
}

export default fp(metricsPlugin, { name: 'metrics' });
