// Fastify type augmentation for what app.ts decorates.
import type { Config } from './config.js';
import type { ServiceMetrics } from './metrics.js';
import type { ModelHost } from './model-host.js';

declare module 'fastify' {
  interface FastifyInstance {
    config: Config;
    host: ModelHost;
    metrics: ServiceMetrics;
    routeTable: ReadonlyArray<{ method: string; url: string }>;
  }
  interface FastifyRequest {
    /** Images in this request (for the request log line); 0 when none were read. */
    imageCount: number;
    /** Aborted after REQUEST_TIMEOUT_MS (predict only). */
    deadline?: AbortSignal;
    /** The error code this request was answered with (for the request log line). */
    errorCode?: string;
  }
}

export {};
