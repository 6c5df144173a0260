// POST /predict: images in (multipart / raw image / JSON base64), digits out, in request order.
import multipart from '@fastify/multipart';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';
import { bearerAuth } from '../plugins/auth.js';
import { encodeModelInputPng, preprocessImage, type Preprocessed } from '../preprocess/index.js';
import { Semaphore } from '../util/semaphore.js';
import { collectImages, RAW_IMAGE_TYPES, type UploadedImage } from './images.js';
import { parseOr400, predictQuerySchema, type PredictQuery } from './schemas.js';

export interface Prediction {
  index: number;
  filename?: string;
  digit: number;
  confidence: number;
  probabilities: number[];
  top: Array<{ digit: number; probability: number }>;
  unsure: boolean;
  blank: boolean;
  input_png?: string;
}

const round = (p: number) => Math.round(p * 1e6) / 1e6;

export default async function predictRoutes(app: FastifyInstance): Promise<void> {
  const config = app.config;
  const host = app.host;
  const decodes = new Semaphore(config.PREPROCESS_CONCURRENCY);
  const checkAuth = bearerAuth(config.API_KEY);
  const deadlineTimers = new WeakMap<FastifyRequest, NodeJS.Timeout>();

  // Scoped to this plugin: multipart and raw-image parsing exist only on /predict.
  await app.register(multipart, {
    throwFileSizeLimit: true,
    limits: { fileSize: config.MAX_FILE_BYTES, files: config.MAX_FILES, fields: 32, fieldSize: 64 * 1024, parts: config.MAX_FILES + 32, headerPairs: 200 },
  });
  app.addContentTypeParser(RAW_IMAGE_TYPES, { parseAs: 'buffer', bodyLimit: config.MAX_FILE_BYTES }, (_req, body, done) => done(null, body));
  // JSON carries up to MAX_FILES base64 images (4/3 the bytes) plus a little syntax.
  const jsonLimit = Math.ceil((config.MAX_FILES * config.MAX_FILE_BYTES * 4) / 3) + 64 * 1024;
  app.removeContentTypeParser('application/json');
  app.addContentTypeParser('application/json', { parseAs: 'string', bodyLimit: jsonLimit }, app.getDefaultJsonParser('error', 'error'));

  // Requests admitted whose bodies are still being read: each counts as one image against
  // QUEUE_MAX until the handler knows how many it carries. `bodyRead` ends that count once.
  const bodyRead = new WeakMap<FastifyRequest, () => void>();
  /** Ends a request's entry in host.startWork() (both ends are idempotent). */
  const workDone = new WeakMap<FastifyRequest, () => void>();

  // Refuse before reading the body: wrong key, not ready, draining, overloaded. Shedding here
  // costs no body parsing or decoding, so a flood of refusals leaves the CPU to admitted work.
  app.addHook('onRequest', async (request, reply) => {
    await checkAuth(request);
    if (host.state === 'draining' || host.state === 'closed') throw new AppError('shutting_down', 'the server is shutting down', { retryAfter: 1 });
    if (host.state !== 'ready' || !host.batcher) throw new AppError('not_ready', 'the model is not loaded yet', { retryAfter: 1 });
    if (host.imagesAdmitted + 1 > config.QUEUE_MAX) {
      throw new AppError('overloaded', `too many images waiting (${host.imagesAdmitted} of QUEUE_MAX=${config.QUEUE_MAX}); retry shortly`, { retryAfter: 1 });
    }
    // The queue may hold fewer than QUEUE_MAX images and still be slow to clear (the CPU is
    // busy, or shared): admitting more would only make every admitted request late.
    const oldest = host.oldestWorkMs;
    if (oldest > config.QUEUE_MAX_WAIT_MS) {
      throw new AppError('overloaded', `the oldest request has been in progress ${Math.round(oldest)} ms (QUEUE_MAX_WAIT_MS=${config.QUEUE_MAX_WAIT_MS}); retry shortly`, { retryAfter: 1 });
    }
    host.requestsReading++;
    let reading = true;
    const endReading = () => {
      if (!reading) return;
      reading = false;
      host.requestsReading--;
    };
    bodyRead.set(request, endReading);
    const ctl = new AbortController();
    const timer = setTimeout(() => {
      // Bytes of the body still to come from the client at the deadline: the client stalled (or is
      // too slow), which is not our failure, so its 504 is logged at info (AppError.clientFault).
      // A body that is all here but not yet handled is our slowness and stays an error.
      const stalled = reading && !request.raw.complete;
      const err = stalled
        ? new AppError('timeout', `the request body did not arrive within ${config.REQUEST_TIMEOUT_MS} ms`, { clientFault: true })
        : new AppError('timeout', `the request took longer than ${config.REQUEST_TIMEOUT_MS} ms`);
      ctl.abort(err);
      // Still receiving the body: no handler runs yet to notice the abort (Node's own
      // requestTimeout is only a backstop, 1 s later), so answer here and drop the half-read connection.
      if (reading && !reply.sent) {
        endReading();
        reply.raw.once('finish', () => request.raw.destroy());
        void reply.header('connection', 'close').send(err);
      }
    }, config.REQUEST_TIMEOUT_MS);
    // Not unref'd: it is what guarantees the client an answer; cleared as soon as one is sent.
    request.deadline = ctl.signal;
    deadlineTimers.set(request, timer);
    // The response closing before it finished means the client went away: stop its work too
    // (its queued images leave the queue). Not request.raw 'close': that fires once the body is read.
    reply.raw.once('close', () => {
      clearTimeout(timer);
      endReading();
      if (!reply.raw.writableFinished) ctl.abort(new AppError('timeout', 'the client closed the connection'));
    });
  });
  app.addHook('onResponse', async (request) => {
    clearTimeout(deadlineTimers.get(request));
    bodyRead.get(request)?.();
    workDone.get(request)?.();
  });

  async function preprocessAll(images: UploadedImage[], query: PredictQuery, signal?: AbortSignal): Promise<Preprocessed[]> {
    const settled = await Promise.allSettled(images.map((img, index) => decodes.use(async () => {
      if (signal?.aborted) throw signal.reason;
      const end = app.metrics.preprocessDuration.startTimer({ mode: query.preprocess });
      try {
        return await preprocessImage(img.bytes, { mode: query.preprocess, maxPixels: config.MAX_IMAGE_PIXELS });
      } catch (e) {
        throw e instanceof AppError ? e.withDetails({ index, ...(img.filename ? { filename: img.filename } : {}) }) : e;
      } finally {
        end();
      }
    }, signal)));
    // Report the first failing image in request order, so the answer does not depend on timing.
    const failed = settled.find((s) => s.status === 'rejected');
    if (failed) throw (failed as PromiseRejectedResult).reason;
    return settled.map((s) => (s as PromiseFulfilledResult<Preprocessed>).value);
  }

  app.post('/predict', async (request: FastifyRequest, reply) => {
    const query = parseOr400(predictQuerySchema, request.query, 'query');
    let images: UploadedImage[];
    try {
      images = await collectImages(request, config);
    } catch (e) {
      // The deadline already answered 504 and dropped the connection mid-body, so the body reader
      // fails (premature close); that is the same event, answered and logged once already. Fastify
      // would log a rejection after the reply as an error ('Promise errored, but reply.sent').
      if (reply.sent) return undefined;
      throw e;
    }
    bodyRead.get(request)?.();
    const endWork = host.startWork();
    workDone.set(request, endWork);
    reply.raw.once('close', endWork);
    request.imageCount = images.length;
    if (images.length > config.MAX_FILES) throw new AppError('too_many_files', `at most ${config.MAX_FILES} images per request`);
    const batcher = host.batcher!;
    // Shed load before decoding: images being decoded count against the queue too.
    if (host.imagesAdmitted + images.length > config.QUEUE_MAX) {
      throw new AppError('overloaded', 'too many images waiting; retry shortly', { retryAfter: 1 });
    }
    host.imagesPreprocessing += images.length;
    let inputs: Preprocessed[];
    try {
      inputs = await preprocessAll(images, query, request.deadline);
    } finally {
      host.imagesPreprocessing -= images.length;
    }
    const rows = await batcher.submit(inputs.map((p) => p.pixels), request.deadline);
    const predictions: Prediction[] = await Promise.all(rows.map(async (probs, index) => {
      const ranked = Array.from(probs, (p, digit) => ({ digit, probability: round(p) })).sort((a, b) => b.probability - a.probability);
      const best = ranked[0];
      const blank = inputs[index].blank;
      app.metrics.predictions.inc({ digit: String(best.digit) });
      return {
        index,
        ...(images[index].filename ? { filename: images[index].filename } : {}),
        digit: best.digit,
        confidence: best.probability,
        probabilities: Array.from(probs, round),
        top: ranked.slice(0, query.topk),
        unsure: blank || best.probability < config.UNSURE_THRESHOLD,
        blank,
        ...(query.debug ? { input_png: (await encodeModelInputPng(inputs[index].pixels)).toString('base64') } : {}),
      };
    }));
    return reply.send({ model: host.identity, provider: host.provider, predictions });
  });
}
