// @ts-check
// Renders predictions and errors into the result card. DOM is built from a <template> with
// textContent only (never innerHTML), so nothing from the service or a filename is parsed as HTML.

/** @typedef {import('./api.js').Prediction} Prediction */
/** @typedef {import('./api.js').PredictResponse} PredictResponse */
/** @typedef {{ title: string, preview?: string }} SentImage  preview: an object URL of an upload */

const pct = new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 });

/** @param {string} id @returns {HTMLElement} */
function byId(id) {
  const el = document.getElementById(id);
  if (!el) throw new Error(`page is missing #${id}`);
  return el;
}

export class ResultView {
  constructor() {
    this.results = byId('results');
    this.status = byId('status');
    this.error = byId('error');
    this.announce = byId('announce');
    this.modelInfo = byId('model-info');
    const tpl = byId('result-template');
    if (!(tpl instanceof HTMLTemplateElement)) throw new Error('#result-template must be a <template>');
    this.template = tpl;
    /** @type {string[]} */
    this.previewUrls = [];
  }

  /** @param {string} text */
  busy(text) {
    this.status.textContent = text;
    this.results.setAttribute('aria-busy', 'true');
  }

  /** Back to the empty state (after Clear). */
  reset() {
    this.hideError();
    this.#replaceResults();
    this.results.removeAttribute('aria-busy');
    this.status.textContent = 'Draw a digit to start.';
    this.announce.textContent = 'Cleared.';
  }

  /**
   * @param {PredictResponse} res
   * @param {SentImage[]} sent one per image, in request order
   */
  show(res, sent) {
    this.hideError();
    const titles = sent.map((s) => s.title);
    const cards = res.predictions.map((p, i) => this.#card(p, sent[p.index ?? i] ?? { title: '' }));
    this.#replaceResults(cards, sent);
    this.results.removeAttribute('aria-busy');
    this.status.textContent = res.predictions.length === 1 ? '' : `${res.predictions.length} images`;
    this.announce.textContent = res.predictions.map((p, i) => {
      const who = titles[p.index ?? i] ? `${titles[p.index ?? i]}: ` : '';
      return `${who}predicted ${p.digit}, ${pct.format(p.confidence)} confident${p.unsure ? ', unsure' : ''}.`;
    }).join(' ');
    const m = res.model;
    this.modelInfo.textContent = m
      ? `Model ${m.name ?? '?'} ${m.version ?? ''}${m.sha256 ? ` (sha256 ${m.sha256.slice(0, 12)}…)` : ''}${res.provider ? ` on ${res.provider}` : ''}`
      : '';
  }

  /**
   * Shows an error prominently; earlier results are removed so they are not mistaken for an
   * answer to this request.
   * @param {import('./api.js').PredictError | Error} err
   */
  showError(err) {
    const code = 'code' in err && typeof err.code === 'string' ? err.code : 'error';
    const status = 'status' in err && typeof err.status === 'number' ? err.status : undefined;
    const codeEl = document.createElement('span');
    codeEl.className = 'code';
    codeEl.textContent = status ? `${status} ${code}` : code;
    const msg = document.createElement('span');
    msg.className = 'message';
    msg.textContent = `: ${err.message}`;
    const parts = [codeEl, msg];
    const hint = hintFor(status, 'retryAfter' in err ? err.retryAfter : null);
    if (hint) {
      const h = document.createElement('span');
      h.className = 'hint';
      h.textContent = `\n${hint}`;
      parts.push(h);
    }
    const details = 'details' in err ? err.details : undefined;
    if (details !== undefined && details !== null) {
      const d = document.createElement('span');
      d.className = 'details';
      d.textContent = `\n${describeDetails(details)}`;
      parts.push(d);
    }
    this.error.replaceChildren(...parts);
    this.error.hidden = false;
    this.#replaceResults();
    this.results.removeAttribute('aria-busy');
    this.status.textContent = '';
  }

  hideError() {
    this.error.hidden = true;
    this.error.replaceChildren();
  }

  /**
   * Swaps the result cards, releasing the object URLs of the previous uploads' previews.
   * @param {HTMLElement[]} [cards] @param {SentImage[]} [sent]
   */
  #replaceResults(cards = [], sent = []) {
    for (const url of this.previewUrls) URL.revokeObjectURL(url);
    this.previewUrls = sent.flatMap((s) => (s.preview ? [s.preview] : []));
    this.results.replaceChildren(...cards);
  }

  /** @param {Prediction} p @param {SentImage} sent */
  #card(p, sent) {
    const { title } = sent;
    const frag = /** @type {DocumentFragment} */ (this.template.content.cloneNode(true));
    const q = (/** @type {string} */ sel) => {
      const el = frag.querySelector(sel);
      if (!(el instanceof HTMLElement)) throw new Error(`result template is missing ${sel}`);
      return el;
    };
    q('.result-title').textContent = title;
    q('.digit').textContent = String(p.digit);
    q('.confidence').textContent = `${pct.format(p.confidence)} confident`;
    q('.unsure-flag').hidden = !p.unsure;
    const article = q('.result');
    article.dataset.digit = String(p.digit);
    article.dataset.unsure = String(p.unsure);

    const sentImg = q('.sent-img');
    if (sent.preview && sentImg instanceof HTMLImageElement) {
      sentImg.src = sent.preview;
      sentImg.alt = `The uploaded image ${title}`;
      q('.sent').hidden = false;
    }

    const img = q('.input-img');
    const fig = q('.model-input');
    if (img instanceof HTMLImageElement && p.input_png) {
      img.src = `data:image/png;base64,${p.input_png}`;
      img.alt = `The 28 by 28 pixel image the model was given, enlarged; predicted ${p.digit}`;
    } else {
      fig.hidden = true; // a service without debug output: show the rest anyway
    }

    const bars = q('.bars');
    const top = p.probabilities.indexOf(Math.max(...p.probabilities));
    p.probabilities.forEach((prob, digit) => bars.append(barRow(digit, prob, digit === top)));
    return article;
  }
}

/** @param {number} digit @param {number} prob @param {boolean} top */
function barRow(digit, prob, top) {
  const li = document.createElement('li');
  li.className = top ? 'bar-row top' : 'bar-row';
  li.dataset.digit = String(digit);
  const label = document.createElement('span');
  label.className = 'bar-digit';
  label.textContent = String(digit);
  const track = document.createElement('span');
  track.className = 'bar-track';
  track.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'bar-fill';
  fill.style.display = 'block';
  fill.style.width = `${Math.max(0, Math.min(1, prob)) * 100}%`;
  track.append(fill);
  const value = document.createElement('span');
  value.className = 'bar-value';
  value.textContent = pct.format(prob);
  li.append(label, track, value);
  return li;
}

/**
 * The service's error details ({ index, filename, … }) as a line for people.
 * @param {unknown} details
 */
function describeDetails(details) {
  if (typeof details !== 'object' || details === null) return String(details);
  const { index, filename, ...rest } = /** @type {Record<string, unknown>} */ (details);
  const parts = [];
  if (typeof index === 'number') parts.push(`image ${index + 1}${typeof filename === 'string' ? ` (${filename})` : ''}`);
  else if (typeof filename === 'string') parts.push(filename);
  for (const [k, val] of Object.entries(rest)) parts.push(`${k}: ${typeof val === 'string' ? val : JSON.stringify(val)}`);
  return parts.join(', ');
}

/** @param {number | undefined} status @param {string | null} retryAfter */
function hintFor(status, retryAfter) {
  if (status === 401 || status === 403) return 'Paste the service\'s API key under “API key” on the left and try again.';
  if (status === 503) return retryAfter ? `The service is busy or starting; try again in ${retryAfter} s.` : 'The service is busy or starting; try again shortly.';
  if (status === 413) return 'The image is too large for this service\'s limits.';
  if (status === 415) return 'Send a PNG (or another image type the service accepts).';
  return '';
}
