// @ts-check
// The one call the page makes: POST /predict?debug=1 with the images as multipart parts,
// exactly what any other client sends. Every failure becomes a PredictError with a message
// a person can act on — the page never shows a blank result.

/**
 * @typedef {{ index: number, filename?: string, digit: number, confidence: number,
 *             probabilities: number[], unsure: boolean, input_png?: string }} Prediction
 * @typedef {{ model?: { name?: string, version?: string, sha256?: string }, provider?: string,
 *             predictions: Prediction[] }} PredictResponse
 */

export class PredictError extends Error {
  /**
   * @param {string} message what went wrong, for people
   * @param {{ status?: number, code?: string, details?: unknown, retryAfter?: string | null }} [info]
   */
  constructor(message, info = {}) {
    super(message);
    this.name = 'PredictError';
    this.status = info.status;
    this.code = info.code ?? (info.status === undefined ? 'network_error' : `http_${info.status}`);
    this.details = info.details;
    this.retryAfter = info.retryAfter ?? null;
  }
}

/**
 * @param {{ blob: Blob, filename: string }[]} images in the order the results should come back
 * @param {{ apiKey?: string, signal?: AbortSignal }} [opts]
 * @returns {Promise<PredictResponse>}
 */
export async function predict(images, opts = {}) {
  const form = new FormData();
  for (const { blob, filename } of images) form.append('image', blob, filename);
  /** @type {Record<string, string>} */
  const headers = { accept: 'application/json' };
  if (opts.apiKey) headers.authorization = `Bearer ${opts.apiKey}`;

  let res;
  try {
    // Relative URL: works when the service sits behind a path prefix too.
    res = await fetch('predict?debug=1', { method: 'POST', body: form, headers, signal: opts.signal });
  } catch (err) {
    if (isAbort(err)) throw err;
    throw new PredictError(`Could not reach the service (${errorText(err)}). Is it running, and is this page served by it?`);
  }

  const text = await res.text().catch(() => '');
  const body = parseJson(text);
  if (!res.ok) throw errorFromResponse(res, body, text);
  if (!isPredictResponse(body)) {
    throw new PredictError('The service answered, but not with predictions this page understands.', {
      status: res.status, code: 'unexpected_response', details: text.slice(0, 300),
    });
  }
  return body;
}

/** @param {unknown} err */
export function isAbort(err) {
  return err instanceof DOMException && err.name === 'AbortError';
}

/** @param {Response} res @param {unknown} body @param {string} text */
function errorFromResponse(res, body, text) {
  const retryAfter = res.headers.get('retry-after');
  const e = isObject(body) && isObject(body.error) ? body.error : null;
  if (e && typeof e.message === 'string') {
    return new PredictError(e.message, {
      status: res.status,
      code: typeof e.code === 'string' ? e.code : undefined,
      details: e.details,
      retryAfter,
    });
  }
  // Not the service's JSON error (a proxy page, an empty body): say what we got.
  const snippet = text.trim().slice(0, 200);
  return new PredictError(`The service answered HTTP ${res.status} ${res.statusText}${snippet ? `: ${snippet}` : ''}`, {
    status: res.status, retryAfter,
  });
}

/** @param {string} text @returns {unknown} */
function parseJson(text) {
  try { return JSON.parse(text); } catch { return undefined; }
}

/** @param {unknown} v @returns {v is Record<string, any>} */
function isObject(v) {
  return typeof v === 'object' && v !== null;
}

/** @param {unknown} v @returns {v is PredictResponse} */
function isPredictResponse(v) {
  return isObject(v) && Array.isArray(v.predictions) && v.predictions.every(
    (p) => isObject(p) && typeof p.digit === 'number' && Array.isArray(p.probabilities),
  );
}

/** @param {unknown} err */
function errorText(err) {
  return err instanceof Error ? err.message : String(err);
}
