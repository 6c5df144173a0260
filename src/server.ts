// Entry point for `npm start`: read config, build, listen; on SIGTERM/SIGINT stop readiness,
// refuse new work, finish queued and in-flight requests, exit 0 (1 past DRAIN_TIMEOUT_MS).
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';

let config: Config;
try {
  config = loadConfig();
} catch (e) {
  if (e instanceof ConfigError) {
    process.stderr.write(`onnx-digits: ${e.message}\n`);
    process.exit(1);
  }
  throw e;
}

const app = await buildApp(config);

app.host.loaded.catch((e: Error) => {
  app.log.fatal({ err: e }, 'cannot serve without a model; exiting');
  void app.close().finally(() => process.exit(1));
});

let stopping = false;
async function shutdown(signal: string): Promise<void> {
  if (stopping) return;
  stopping = true;
  app.log.info({ signal, drainTimeoutMs: config.DRAIN_TIMEOUT_MS }, 'shutting down: draining');
  const timer = setTimeout(() => {
    app.log.error('drain timeout passed; exiting with work unfinished');
    process.exit(1);
  }, config.DRAIN_TIMEOUT_MS);
  timer.unref();
  try {
    // Readiness goes false and /predict answers 503 at once; queued images still run.
    app.host.beginDrain();
    await app.close(); // stops listening, waits for in-flight responses, disposes the workers
    app.log.info('drained; bye');
    process.exit(0);
  } catch (e) {
    app.log.error({ err: e }, 'error while shutting down');
    process.exit(1);
  }
}
process.on('SIGTERM', () => void shutdown('SIGTERM'));
process.on('SIGINT', () => void shutdown('SIGINT'));

try {
  // backlog: a burst of connections past the default 511 overflows the accept queue, and the
  // kernel drops SYNs (clients retry after 1, 3, 7 s): answers that late look like hangs.
  await app.listen({ port: config.PORT, host: config.HOST, backlog: 4096 });
} catch (e) {
  app.log.fatal({ err: e }, 'cannot listen');
  process.exit(1);
}
