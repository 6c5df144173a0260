// @ts-check
// Injected into the page by the tests (addInitScript, which page CSP does not govern): reads
// back what the page shows and performs gestures Playwright has no direct API for. Plain JS so
// DOM types stay out of the Node project's TypeScript program.

/** @param {Element | null} el */
const visible = (el) => el instanceof HTMLElement && !el.hidden && el.offsetParent !== null;

/** @type {string[]} pointerType of every pointerdown on the pad, to tell mouse, pen and touch apart */
const pointerTypes = [];
window.addEventListener('pointerdown', (e) => {
  if (e.target instanceof Element && e.target.id === 'pad') pointerTypes.push(e.pointerType);
}, true);

const probe = {
  pointerTypes() {
    return [...pointerTypes];
  },

  /** Everything each result card shows, once its images have decoded. */
  async readShown() {
    const imgs = /** @type {HTMLImageElement[]} */ ([...document.querySelectorAll('#results img')]);
    await Promise.all(imgs.map((i) => (i.src ? i.decode().catch(() => undefined) : undefined)));
    return [...document.querySelectorAll('#results .result')].map((card) => {
      const text = (/** @type {string} */ sel) => card.querySelector(sel)?.textContent?.trim() ?? '';
      const img = /** @type {HTMLImageElement} */ (card.querySelector('img.input-img'));
      const r = img.getBoundingClientRect();
      return {
        title: text('.result-title'),
        digit: text('.digit'),
        unsureVisible: visible(card.querySelector('.unsure-flag')),
        bars: [...card.querySelectorAll('.bar-row')].map((row) => ({
          digit: row.querySelector('.bar-digit')?.textContent ?? '',
          value: row.querySelector('.bar-value')?.textContent ?? '',
          top: row.classList.contains('top'),
          widthPct: parseFloat(/** @type {HTMLElement} */ (row.querySelector('.bar-fill')).style.width),
        })),
        input: {
          src: img.getAttribute('src') ?? '',
          naturalWidth: img.naturalWidth,
          naturalHeight: img.naturalHeight,
          width: r.width,
          height: r.height,
          rendering: getComputedStyle(img).imageRendering,
          visible: visible(img),
        },
        sentVisible: visible(card.querySelector('.sent')),
      };
    });
  },

  /** Pixels of the drawing pad that are not black. */
  inkedPixels() {
    const c = /** @type {HTMLCanvasElement} */ (document.getElementById('pad'));
    const d = /** @type {CanvasRenderingContext2D} */ (c.getContext('2d')).getImageData(0, 0, c.width, c.height).data;
    let n = 0;
    for (let i = 0; i < d.length; i += 4) if (d[i] > 0 || d[i + 1] > 0 || d[i + 2] > 0) n++;
    return n;
  },

  /** Drops a file on the drop zone the way a file manager drag does. @param {string} base64 @param {string} name */
  dropFile(base64, name) {
    const zone = /** @type {HTMLElement} */ (document.getElementById('drop-zone'));
    const bytes = Uint8Array.from(atob(base64), (ch) => ch.charCodeAt(0));
    const dt = new DataTransfer();
    dt.items.add(new File([bytes], name, { type: 'image/png' }));
    for (const type of ['dragenter', 'dragover', 'drop']) {
      zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: dt }));
    }
  },

  storedKeys() {
    return { local: localStorage.length, session: sessionStorage.length };
  },
};

Object.defineProperty(window, 'pageProbe', { value: probe });
