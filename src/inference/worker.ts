// Worker-thread entry: owns one OrtModelSession. onnxruntime-node's session.run() runs the
// native inference synchronously on the calling thread, so it lives here, off the HTTP loop.
import { parentPort, workerData } from 'node:worker_threads';
import { OrtModelSession, NoProviderError } from './ort-session.js';
import type { ToMain, ToWorker, WorkerInit } from './worker-protocol.js';

const port = parentPort;
if (!port) throw new Error('worker.ts must run in a worker thread');
const init = workerData as WorkerInit;
const post = (m: ToMain, transfer: ArrayBuffer[] = []) => port.postMessage(m, transfer);

let session: OrtModelSession | undefined;
try {
  session = await OrtModelSession.create(init.modelBytes, { providers: init.providers, intraOpThreads: init.intraOpThreads });
  post({ type: 'ready', provider: session.provider, description: session.description, attempts: session.attempts });
} catch (e) {
  post({
    type: 'load-error',
    message: e instanceof Error ? e.message : String(e),
    attempts: e instanceof NoProviderError ? e.attempts : [],
  });
}

port.on('message', async (m: ToWorker) => {
  if (m.type === 'close') {
    await session?.dispose();
    port.close();
    return;
  }
  if (!session) {
    post({ type: 'run-error', id: m.id, message: 'model not loaded' });
    return;
  }
  try {
    const { probabilities } = await session.run(m.input, m.n);
    post({ type: 'result', id: m.id, probabilities }, [probabilities.buffer as ArrayBuffer]);
  } catch (e) {
    post({ type: 'run-error', id: m.id, message: e instanceof Error ? e.message : String(e) });
  }
});
