// Entry point for `npm start`: read config, build, listen; on SIGTERM/SIGINT stop readiness,
// refuse new work, finish queued and in-flight requests, exit 0 (1 past DRAIN_TIMEOUT_MS).
import { accessSync, constants, readFileSync, statSync } from 'node:fs';
import { buildApp } from './app.js';
import { ConfigError, loadConfig, type Config } from './config.js';
import { describeModel, ModelFileError } from './inference/model-file.js';

/** On SIGTERM, how long uploads still arriving get to finish before their sockets are cut. */
const UPLOAD_GRACE_MS = 1000;

/** Why `path` cannot serve as the model, or undefined when it can: missing, unreadable, not an
 *  ONNX model with the digit contract, or a model onnxruntime cannot open or run (an unknown
 *  operator or opset, a shape it cannot take). Checked here, in this process, so that a wrong
 *  file is a one-line start-up error and not a worker failure after the port is already open. */
async function unusableModel(path: string): Promise<string | undefined> {
  let bytes: Uint8Array;
  try {
    if (!statSync(path).isFile()) return 'not a regular file';
    accessSync(path, constants.R_OK);
    bytes = new Uint8Array(readFileSync(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'not readable (permission denied)' : String((e as Error).message);
  }
  try {
    describeModel(bytes); // the contract first: no onnxruntime for a file that is not a model
    // onnxruntime only here, so a configuration error above stays quick
    const { checkModelRuns } = await import('./inference/ort-session.js');
    await checkModelRuns(bytes);
    return undefined;
  } catch (e) {
    if (e instanceof ModelFileError) return e.message;
    const { ortMessage } = await import('./inference/ort-session.js');
    return ortMessage(e);
  }
}

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

// A model that is not there, or not a model, is a configuration error: one line, before listening.
const modelProblem = await unusableModel(config.MODEL_PATH);
if (modelProblem) {
  process.stderr.write(`onnx-digits: MODEL_PATH=${config.MODEL_PATH}: ${modelProblem}\n`);
  process.exit(1);
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
  // Connections with no work of ours in progress (uploads stalled or still dribbling in after
  // a grace period, sockets stuck mid-headers) would otherwise hold close() until their own
  // timeouts and the drain past DRAIN_TIMEOUT_MS: once the admitted work is answered, cut them.
  const graceMs = Math.min(UPLOAD_GRACE_MS, config.DRAIN_TIMEOUT_MS / 4);
  const drainStarted = performance.now();
  let cut = false;
  const cutter = setInterval(() => {
    if (performance.now() - drainStarted < graceMs || app.host.processing) return;
    if (!cut) app.log.info('drain: admitted work answered; closing the remaining connections');
    cut = true;
    app.server.closeAllConnections();
  }, 20);
  cutter.unref();
  try {
    // Readiness goes false and /predict answers 503 at once; queued images still run.
    app.host.beginDrain();
    await app.close(); // stops listening, waits for in-flight responses, disposes the workers
    clearInterval(cutter);
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
