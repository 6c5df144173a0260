// @ts-check
// A drawing pad on a <canvas>: one code path for mouse, pen and touch via pointer events.
// Draws thick white ink on black, which is already MNIST's polarity (the service would also
// invert black-on-white, so either works); the bitmap is what gets sent as PNG.

/** Stroke width as a fraction of the canvas side: a digit drawn across most of the pad then
 *  lands near MNIST's ~2–3 px stroke after the service scales it to 20 px. */
const STROKE_FRACTION = 0.08;

export class DrawingPad {
  /**
   * @param {HTMLCanvasElement} canvas
   * @param {{ onStrokeEnd: () => void }} hooks called once per finished stroke
   */
  constructor(canvas, hooks) {
    const ctx = canvas.getContext('2d');
    if (!ctx) throw new Error('2D canvas is not available in this browser');
    this.canvas = canvas;
    this.ctx = ctx;
    this.hooks = hooks;
    /** @type {number | null} the pointer drawing now; other pointers (a second finger) are ignored */
    this.activePointer = null;
    /** @type {{ x: number, y: number } | null} */
    this.last = null;
    this.inked = false;
    this.clear();

    canvas.addEventListener('pointerdown', (e) => this.#down(e));
    canvas.addEventListener('pointermove', (e) => this.#move(e));
    canvas.addEventListener('pointerup', (e) => this.#up(e));
    canvas.addEventListener('pointercancel', (e) => this.#up(e));
  }

  /** True once something has been drawn since the last clear. */
  get hasInk() { return this.inked; }

  clear() {
    const { ctx, canvas } = this;
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    this.inked = false;
  }

  /** @returns {Promise<Blob>} the canvas as a PNG */
  toPngBlob() {
    return new Promise((resolve, reject) => {
      this.canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('could not encode the drawing as PNG'))), 'image/png');
    });
  }

  /** Maps a pointer event to canvas pixels (the canvas is CSS-scaled). @param {PointerEvent} e */
  #point(e) {
    const r = this.canvas.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * this.canvas.width,
      y: ((e.clientY - r.top) / r.height) * this.canvas.height,
    };
  }

  /** @param {PointerEvent} e */
  #down(e) {
    if (this.activePointer !== null) return;
    if (e.pointerType === 'mouse' && e.button !== 0) return;
    e.preventDefault();
    this.activePointer = e.pointerId;
    // Capture so a stroke that leaves the canvas still ends (and predicts) on release.
    this.canvas.setPointerCapture(e.pointerId);
    this.canvas.focus({ preventScroll: true });
    const p = this.#point(e);
    this.last = p;
    this.#segment(p, p); // a tap leaves a dot
  }

  /** @param {PointerEvent} e */
  #move(e) {
    if (e.pointerId !== this.activePointer || !this.last) return;
    e.preventDefault();
    // Coalesced events give the full-rate path of fast pen/touch moves, not just one per frame.
    const events = typeof e.getCoalescedEvents === 'function' ? e.getCoalescedEvents() : [];
    for (const ev of events.length > 0 ? events : [e]) {
      const p = this.#point(ev);
      this.#segment(this.last, p);
      this.last = p;
    }
  }

  /** @param {PointerEvent} e */
  #up(e) {
    if (e.pointerId !== this.activePointer) return;
    this.activePointer = null;
    this.last = null;
    if (this.canvas.hasPointerCapture(e.pointerId)) this.canvas.releasePointerCapture(e.pointerId);
    this.hooks.onStrokeEnd();
  }

  /** @param {{x:number,y:number}} a @param {{x:number,y:number}} b */
  #segment(a, b) {
    const { ctx } = this;
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = this.canvas.width * STROKE_FRACTION;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(a.x, a.y);
    ctx.lineTo(b.x, b.y);
    ctx.stroke();
    this.inked = true;
  }
}
