// Builds the Fastify app (never listens: server.ts does). Tests call buildApp and use
// app.inject or listen on an ephemeral port themselves.
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import type { DestinationStream } from 'pino';
import type { Config } from './config.js';
import type { ModelSession } from './inference/model-session.js';
import { createMetrics } from './metrics.js';
import { ModelHost, openModelSession } from './model-host.js';
import { clientErrorHandler, frameworkErrors, refuseHandedOver, trackRequests } from './plugins/client-errors.js';
import errorsPlugin from './plugins/errors.js';
import metricsPlugin from './plugins/metrics.js';
import metaRoutes from './routes/meta.js';
import modelRoutes from './routes/models.js';
import predictRoutes from './routes/predict.js';
import probeRoutes from './routes/probes.js';
import uiRoutes from './routes/ui.js';
import './types.js';

/** How long after REQUEST_TIMEOUT_MS Node itself cuts a request that is still open. */
const REQUEST_TIMEOUT_BACKSTOP_MS = 1000;

/** X-Request-Id values we echo and log as they are; anything else gets a generated id. */
const CLIENT_REQUEST_ID = /^[A-Za-z0-9._-]{1,128}$/;

export interface AppDeps {
  /** Where the JSON log lines go (stdout when unset; tests capture them). */
  logStream?: DestinationStream;
  /** Use this session instead of opening MODEL_PATH in workers (tests inject wrapped sessions). */
  openSession?: () => Promise<ModelSession>;
}

export async function buildApp(config: Config, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = Fastify({
    logger: { level: config.LOG_LEVEL, ...(deps.logStream ? { stream: deps.logStream } : {}) },
    // one line per request comes from plugins/metrics.ts instead of Fastify's two
    logController: new LogController({ disableRequestLogging: true }),
    // The client's X-Request-Id only when short and plain: it is echoed in a header and written
    // to every log line of the request, so length and characters are ours to bound.
    requestIdHeader: false,
    genReqId: (req) => {
      const sent = req.headers['x-request-id'];
      return typeof sent === 'string' && CLIENT_REQUEST_ID.test(sent) ? sent : crypto.randomUUID();
    },
    // Socket-level and framework errors, in our error shape too, each counted and logged once (plugins/client-errors.ts).
    clientErrorHandler,
    frameworkErrors,
    // Node's whole-request deadline is only the backstop: a stalled body gets our own 504 at
    // REQUEST_TIMEOUT_MS (routes/predict.ts), and Node's timer starts a little earlier (at the
    // first header byte), so at the same value it could win the race with a 408 now and then.
    requestTimeout: config.REQUEST_TIMEOUT_MS + REQUEST_TIMEOUT_BACKSTOP_MS,
    // Node enforces requestTimeout (and the header timeout) only when it sweeps its connections,
    // every 30 s by default: a stalled header could then hold a socket ~30 s past the deadline.
    http: { connectionsCheckingInterval: Math.min(30_000, Math.max(100, Math.floor(config.REQUEST_TIMEOUT_MS / 10))) },
    connectionTimeout: 0,
    bodyLimit: 1024 * 1024, // non-predict routes take no real bodies; /predict sets its own limits
    // Our predict hook answers 503 shutting_down (JSON, Retry-After) while draining instead.
    return503OnClosing: false,
    forceCloseConnections: 'idle',
  });
  // Headers that have not arrived by REQUEST_TIMEOUT_MS get their 408 then (not at the backstop).
  app.server.headersTimeout = config.REQUEST_TIMEOUT_MS;
  // So socket-level errors inside a routed request are left to that request (plugins/client-errors.ts),
  // which answers them itself: at once (first onRequest hook), or before its body is read.
  trackRequests(app.server);
  app.addHook('onRequest', refuseHandedOver);
  app.addHook('preParsing', refuseHandedOver);

  const metrics = createMetrics(config.BATCH_MAX_SIZE);
  const host = new ModelHost(config, metrics, app.log, deps.openSession ?? (() => openModelSession(config, app.log)));
  app.decorate('config', config);
  app.decorate('metrics', metrics);
  app.decorate('host', host);
  app.addHook('onClose', async () => { await host.close(); });
  // While draining, every response closes its connection: otherwise keep-alive sockets that were
  // busy when close() began stay open (Fastify's keepAliveTimeout is 72 s) and hold the exit.
  app.addHook('onSend', async (request, reply, payload) => {
    void reply.header('X-Request-Id', request.id); // the id 500 messages and the logs refer to
    if (host.state === 'draining' || host.state === 'closed') void reply.header('Connection', 'close');
    return payload;
  });
  // Every route as registered (tests check each one is in openapi.yaml).
  const routes: Array<{ method: string; url: string }> = [];
  app.decorate('routeTable', routes);
  app.addHook('onRoute', (r) => {
    for (const method of [r.method].flat()) routes.push({ method, url: r.url });
  });

  // Registration order matters:
  // 1. metrics + request log first, so every response (errors included) is counted and logged;
  await app.register(metricsPlugin);
  // 2. the error handler and JSON 404 (depends on metrics for rejection counts);
  await app.register(errorsPlugin);
  // 3. probes and metadata (never behind the API key);
  await app.register(probeRoutes);
  await app.register(metaRoutes);
  await app.register(modelRoutes);
  // 4. /predict in its own scope (multipart + raw-image parsers, auth, deadline hooks);
  await app.register(predictRoutes);
  // 5. the draw-a-digit page at / (web engineer's plugin).
  await app.register(uiRoutes);

  return app;
}
