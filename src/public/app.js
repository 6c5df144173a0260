// @ts-check
// Wires the page: drawing pad and file inputs -> POST /predict -> result view.
import { DrawingPad } from './pad.js';
import { predict, isAbort, PredictError } from './api.js';
import { ResultView } from './view.js';
import { loadKey, saveKey } from './key-store.js';

/** @template {HTMLElement} T @param {string} id @param {new () => T} type @returns {T} */
function el(id, type) {
  const e = document.getElementById(id);
  if (!(e instanceof type)) throw new Error(`page is missing #${id}`);
  return e;
}

const view = new ResultView();
const keyInput = el('api-key', HTMLInputElement);
const remember = el('remember-key', HTMLInputElement);
const keyBox = el('key-box', HTMLDetailsElement);
const fileInput = el('file', HTMLInputElement);
const card = el('input-card', HTMLElement);
const canvas = el('pad', HTMLCanvasElement);

const stored = loadKey();
keyInput.value = stored.key;
remember.checked = stored.remembered;
if (stored.key) keyBox.open = true;
const storeKey = () => saveKey(keyInput.value.trim(), remember.checked);
// Enter in the key field must not submit (and reload) the page.
el('key-form', HTMLFormElement).addEventListener('submit', (e) => e.preventDefault());
keyInput.addEventListener('input', storeKey);
remember.addEventListener('change', storeKey);

/** Only the newest request's answer is shown; an older one still in flight is aborted. */
let inflight = /** @type {AbortController | null} */ (null);

/**
 * @param {{ blob: Blob, filename: string }[]} images
 * @param {import('./view.js').SentImage[]} sent what to show beside each result
 */
async function run(images, sent) {
  inflight?.abort();
  const ctl = new AbortController();
  inflight = ctl;
  view.busy(images.length === 1 ? 'Predicting…' : `Predicting ${images.length} images…`);
  let shown = false;
  try {
    const res = await predict(images, { apiKey: keyInput.value.trim(), signal: ctl.signal });
    if (ctl.signal.aborted) return;
    view.show(res, sent); // the view now owns the previews' object URLs
    shown = true;
  } catch (err) {
    if (isAbort(err) || ctl.signal.aborted) return;
    const e = err instanceof Error ? err : new PredictError(String(err));
    view.showError(e);
    if (e instanceof PredictError && (e.status === 401 || e.status === 403)) keyBox.open = true;
  } finally {
    if (!shown) for (const s of sent) if (s.preview) URL.revokeObjectURL(s.preview);
    if (inflight === ctl) inflight = null;
  }
}

const pad = new DrawingPad(canvas, {
  onStrokeEnd: () => {
    pad.toPngBlob().then(
      (blob) => run([{ blob, filename: 'drawing.png' }], [{ title: '' }]),
      (err) => view.showError(err),
    );
  },
});

function clearAll() {
  inflight?.abort();
  pad.clear();
  view.reset();
}
el('clear', HTMLButtonElement).addEventListener('click', () => { clearAll(); canvas.focus(); });
canvas.addEventListener('keydown', (e) => {
  if (e.key === 'Escape' || e.key === 'Delete' || e.key === 'Backspace') {
    e.preventDefault();
    clearAll();
  }
});
// Escape clears from anywhere except while typing into a field.
document.addEventListener('keydown', (e) => {
  if (e.key !== 'Escape' || e.defaultPrevented) return;
  if (e.target instanceof HTMLInputElement || e.target instanceof HTMLTextAreaElement) return;
  clearAll();
});

/** @param {FileList | File[] | null | undefined} list */
function upload(list) {
  const files = Array.from(list ?? []);
  if (files.length === 0) return;
  // The result is about the files now, not the drawing.
  pad.clear();
  // Let the service judge the bytes (it decides the type from content, not the name) so a
  // wrong file gets the service's own error message.
  run(
    files.map((f) => ({ blob: f, filename: f.name })),
    files.map((f) => ({ title: f.name, preview: URL.createObjectURL(f) })),
  );
}
fileInput.addEventListener('change', () => {
  upload(fileInput.files);
  fileInput.value = ''; // choosing the same file again still fires 'change'
});

// Drop zone: the whole input card. dragenter/leave fire for children too, hence the counter.
let dragDepth = 0;
card.addEventListener('dragenter', (e) => { e.preventDefault(); dragDepth++; card.classList.add('dragging'); });
card.addEventListener('dragleave', () => { if (--dragDepth <= 0) { dragDepth = 0; card.classList.remove('dragging'); } });
card.addEventListener('dragover', (e) => { e.preventDefault(); if (e.dataTransfer) e.dataTransfer.dropEffect = 'copy'; });
card.addEventListener('drop', (e) => {
  e.preventDefault();
  dragDepth = 0;
  card.classList.remove('dragging');
  upload(e.dataTransfer?.files);
});
// A file dropped beside the card should not navigate away from the page.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

document.body.dataset.ready = 'true';
