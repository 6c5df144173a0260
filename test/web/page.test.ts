import t from 'tap';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';
import sharp from 'sharp';
import type { Page } from 'playwright-core';
import { chromiumMissing, drawStroke, drawStrokeAs, launchBrowser, STROKES, writeFileAtomic, type Browser, type PadPoint } from './browser.js';
import {
  NO_MODEL, PROBE_SCRIPT, dropFile, inkedPixels, isErrorBody, isPredictBody, pctText, pointerTypes, readShown, roundTrip,
  startService, storedKeys, type PredictBody, type RunningService,
} from './page-helpers.js';

type TapTest = Parameters<Parameters<typeof t.test>[0]>[0];

// The draw-a-digit page end to end: a real listening service (buildApp), the page loaded from it
// in headless Chromium, real mouse strokes and uploads, and what the page then shows compared
// with the /predict answer it got. Which digit the trained model reads is asserted only where
// models/digits.onnx exists; everything else runs against a throwaway model too.

const SAMPLE = fileURLToPath(new URL('fixtures/mnist-t10k-1-digit2.png', import.meta.url));
const SAMPLE_LABEL = '2';
// WEB_SCREENSHOT=docs/screenshot.png writes the README's screenshot from this run.
const SCREENSHOT_OUT = process.env.WEB_SCREENSHOT;

/** mulberry32 from a fresh seed each run (printed), so strokes land somewhere new every time. */
function rng(): { seed: number; next: () => number } {
  const seed = randomBytes(4).readUInt32LE(0);
  let a = seed;
  return {
    seed,
    next: () => {
      a = (a + 0x6d2b79f5) >>> 0;
      let x = a;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
    },
  };
}

/** The stroke scaled (65–100 %) and moved anywhere it still fits: preprocessing must undo both. */
function placed(points: readonly PadPoint[], rand: () => number): PadPoint[] {
  const s = 0.65 + 0.35 * rand();
  const xs = points.map((p) => 0.5 + (p[0] - 0.5) * s);
  const ys = points.map((p) => 0.5 + (p[1] - 0.5) * s);
  const room = (v: number[]) => ({ lo: 0.06 - Math.min(...v), hi: 0.94 - Math.max(...v) });
  const rx = room(xs);
  const ry = room(ys);
  const dx = rx.lo + (rx.hi - rx.lo) * rand();
  const dy = ry.lo + (ry.hi - ry.lo) * rand();
  return xs.map((x, i) => [x + dx, ys[i]! + dy] as const);
}

/** The page shows exactly what /predict answered: digit, every bar, the unsure flag, the input. */
async function checkShownMatches(t: TapTest, page: Page, body: PredictBody, what: string) {
  const shown = await readShown(page);
  t.equal(shown.length, body.predictions.length, `${what}: one result card per prediction`);
  for (const [i, p] of body.predictions.entries()) {
    const card = shown[i]!;
    t.equal(card.digit, String(p.digit), `${what}: shows the predicted digit`);
    t.equal(card.unsureVisible, p.unsure, `${what}: unsure flag shown iff unsure=${p.unsure}`);
    t.same(card.bars.map((b) => b.digit), ['0', '1', '2', '3', '4', '5', '6', '7', '8', '9'], `${what}: ten bars`);
    t.same(card.bars.map((b) => b.value), p.probabilities.map(pctText), `${what}: bar values are the probabilities`);
    // (the CSSOM keeps ~6 significant digits of a percentage width)
    const off = Math.max(...card.bars.map((b, d) => Math.abs(b.widthPct - p.probabilities[d]! * 100)));
    t.ok(off < 1e-3, `${what}: bar lengths are the probabilities (max off ${off} %)`);
    t.same(card.bars.filter((b) => b.top).map((b) => b.digit), [String(p.digit)], `${what}: the predicted digit's bar is highlighted`);
    // The preprocessed 28×28 view: the service's own input_png, enlarged with hard pixel edges.
    t.ok(p.input_png, `${what}: ?debug=1 returned input_png`);
    t.equal(card.input.src, `data:image/png;base64,${p.input_png}`, `${what}: shows the service's input_png`);
    t.ok(card.input.visible, `${what}: preprocessed view visible`);
    t.same([card.input.naturalWidth, card.input.naturalHeight], [28, 28], `${what}: the image is the 28×28 model input`);
    t.ok(card.input.width >= 112 && card.input.height >= 112, `${what}: enlarged at least 4× (${card.input.width}×${card.input.height})`);
    t.equal(card.input.rendering, 'pixelated', `${what}: crisp pixels, not smoothed`);
    const meta = await sharp(Buffer.from(p.input_png!, 'base64')).raw().toBuffer({ resolveWithObject: true });
    t.same([meta.info.width, meta.info.height], [28, 28], `${what}: input_png decodes to 28×28`);
  }
  return shown;
}

/** Checks a /predict request is the one every client makes. */
function checkRequest(t: TapTest, rt: { request: import('playwright-core').Request }, what: string) {
  const url = new URL(rt.request.url());
  t.equal(rt.request.method(), 'POST', `${what}: POST`);
  t.equal(url.pathname, '/predict', `${what}: /predict`);
  t.equal(url.searchParams.get('debug'), '1', `${what}: debug=1 for the preprocessed view`);
  t.match(rt.request.headers()['content-type'] ?? '', /^multipart\/form-data; boundary=/, `${what}: multipart upload`);
}

async function openPage(browser: Browser, svc: RunningService): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage();
  await page.addInitScript({ path: PROBE_SCRIPT });
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`uncaught: ${e.message}`));
  page.on('console', (m) => { if (/Content Security Policy|Uncaught/i.test(m.text())) problems.push(`console: ${m.text()}`); });
  await page.goto(svc.url);
  await page.locator('body[data-ready="true"]').waitFor();
  return { page, problems };
}

const missing = chromiumMissing();
t.test('draw-a-digit page in headless Chromium', { skip: missing ?? false }, async (t) => {
  const browser = await launchBrowser();
  t.teardown(() => browser.close());
  const svc = await startService();
  t.teardown(() => svc.close());

  t.test('GET / loads the page, labelled for keyboard and screen readers, without errors', async (t) => {
    const { page, problems } = await openPage(browser, svc);
    t.equal(await page.title(), 'onnx-digits — draw a digit');
    t.ok(await page.getByRole('button', { name: /Clear/ }).isVisible(), 'Clear button');
    t.match(await page.locator('#pad').getAttribute('aria-label'), /Draw/, 'canvas has a label');
    t.equal(await page.locator('#pad').getAttribute('tabindex'), '0', 'canvas is focusable');
    t.equal(await page.getByLabel(/choose PNG files/i).getAttribute('type'), 'file', 'labelled file picker');
    await page.getByText('API key', { exact: true }).click();
    t.equal(await page.getByLabel(/API key \(only needed/).getAttribute('type'), 'password', 'labelled API key field');
    t.equal(await page.locator('#announce').getAttribute('aria-live'), 'polite', 'results are announced');
    t.equal(await page.locator('#error').getAttribute('role'), 'alert', 'errors are alerts');
    t.same(problems, [], 'no script errors, no CSP violations');
    await page.close();
  });

  t.test('strokes shaped like 1 and 7: the page shows what /predict answered', async (t) => {
    const { page, problems } = await openPage(browser, svc);
    const r = rng();
    t.comment(`stroke placement seed ${r.seed}`);
    for (const [name, digit] of [['one', '1'], ['seven', '7']] as const) {
      // Centred strokes for the README picture; anywhere on the pad otherwise.
      const stroke = SCREENSHOT_OUT ? [...STROKES[name]] : placed(STROKES[name], r.next);
      const rt = await roundTrip(page, () => drawStroke(page, stroke));
      checkRequest(t, rt, name);
      t.equal(rt.status, 200, `${name}: 200`);
      if (!isPredictBody(rt.body)) { t.fail(`${name}: body ${JSON.stringify(rt.body)}`); continue; }
      const [shown] = await checkShownMatches(t, page, rt.body, name);
      t.equal(shown?.digit, digit, `a drawn ${digit} is read as ${digit} (stroke ${JSON.stringify(stroke)})`, { skip: NO_MODEL });
      t.match(await page.locator('#announce').textContent(), `predicted ${rt.body.predictions[0]!.digit}`, `${name}: result announced`);
      if (name === 'seven') {
        // The README's picture: the page as a visitor sees it after drawing a 7.
        await page.locator('#pad').blur();
        const main = await page.locator('main').boundingBox();
        const png = await page.screenshot({ type: 'png', clip: { x: 0, y: 0, width: 1000, height: Math.ceil((main?.y ?? 0) + (main?.height ?? 740)) + 20 } });
        t.same([...png.subarray(1, 4)], [...Buffer.from('PNG')], 'screenshot taken');
        if (SCREENSHOT_OUT && NO_MODEL) t.comment(`not writing ${SCREENSHOT_OUT}: ${NO_MODEL}, the answers shown would be a random model's`);
        else if (SCREENSHOT_OUT) {
          writeFileAtomic(SCREENSHOT_OUT, png);
          t.comment(`screenshot written to ${SCREENSHOT_OUT}`);
        }
      }
      // Keyboard clear: Escape on the focused canvas empties the pad and the results.
      await page.locator('#pad').focus();
      await page.keyboard.press('Escape');
      t.equal(await page.locator('#results .result').count(), 0, `${name}: Escape clears the results`);
      const inked = await inkedPixels(page);
      t.equal(inked, 0, `${name}: Escape clears the pad`);
    }
    t.same(problems, [], 'no script errors');
    await page.close();
  });

  t.test('a finger and a pen draw too (pointer events), without scrolling the page', async (t) => {
    const { page, problems } = await openPage(browser, svc);
    // A phone-sized, scrollable page: an upward drag on the pad would scroll it unless the pad
    // takes the touch (touch-action: none).
    await page.setViewportSize({ width: 390, height: 640 });
    t.ok(await page.evaluate<boolean>('document.documentElement.scrollHeight > innerHeight'), 'the page can scroll');
    const r = rng();
    t.comment(`stroke placement seed ${r.seed}`);
    for (const kind of ['touch', 'pen'] as const) {
      await page.locator('#pad').focus();
      await page.keyboard.press('Escape');
      const stroke = placed(STROKES.one, r.next).reverse(); // drawn bottom to top
      const rt = await roundTrip(page, () => drawStrokeAs(page, kind, stroke));
      t.equal((await pointerTypes(page)).at(-1), kind, `${kind}: the pad got ${kind} pointer events`);
      t.equal(rt.status, 200, `${kind}: a stroke end sends /predict`);
      t.ok((await inkedPixels(page)) > 0, `${kind}: ink on the pad`);
      t.equal(await page.evaluate<number>('window.scrollY'), 0, `${kind}: the page did not scroll`);
      if (!isPredictBody(rt.body)) { t.fail(`${kind}: body ${JSON.stringify(rt.body)}`); continue; }
      const [shown] = await checkShownMatches(t, page, rt.body, kind);
      t.equal(shown?.digit, '1', `a 1 drawn by ${kind} is read as 1 (stroke ${JSON.stringify(stroke)})`, { skip: NO_MODEL });
    }
    t.same(problems, [], 'no script errors');
    await page.close();
  });

  t.test('the committed sample PNG, via the file picker and the drop zone', async (t) => {
    const { page } = await openPage(browser, svc);
    const viaPicker = await roundTrip(page, () => page.setInputFiles('#file', SAMPLE));
    checkRequest(t, viaPicker, 'picker');
    if (!isPredictBody(viaPicker.body)) throw new Error(`picker: ${JSON.stringify(viaPicker.body)}`);
    const [picked] = await checkShownMatches(t, page, viaPicker.body, 'picker');
    t.equal(picked?.title, 'mnist-t10k-1-digit2.png', 'titled with the file name');
    t.ok(picked?.sentVisible, 'the uploaded image is shown beside the model input');
    t.equal(picked?.digit, SAMPLE_LABEL, `the sample is read as ${SAMPLE_LABEL}`, { skip: NO_MODEL });

    const viaDrop = await roundTrip(page, () => dropFile(page, readFileSync(SAMPLE), 'dropped.png'));
    if (!isPredictBody(viaDrop.body)) throw new Error(`drop: ${JSON.stringify(viaDrop.body)}`);
    const [dropped] = await checkShownMatches(t, page, viaDrop.body, 'drop');
    t.equal(dropped?.title, 'dropped.png', 'dropped file titled');
    t.same(viaDrop.body.predictions[0]!.probabilities, viaPicker.body.predictions[0]!.probabilities, 'same bytes, same answer');

    const two = await roundTrip(page, () => page.setInputFiles('#file', [
      { name: 'first.png', mimeType: 'image/png', buffer: readFileSync(SAMPLE) },
      { name: 'second.png', mimeType: 'image/png', buffer: readFileSync(SAMPLE) },
    ]));
    if (!isPredictBody(two.body)) throw new Error(`two files: ${JSON.stringify(two.body)}`);
    const shown = await checkShownMatches(t, page, two.body, 'two files');
    t.same(shown.map((s) => s.title), ['first.png', 'second.png'], 'results in upload order');
    await page.close();
  });

  t.test('a file that is not an image: the service\'s error is shown, not a blank', async (t) => {
    const { page } = await openPage(browser, svc);
    const rt = await roundTrip(page, () => page.setInputFiles('#file', {
      name: 'notes.png', mimeType: 'image/png', buffer: Buffer.from('these are my notes, not a PNG\n'),
    }));
    t.ok(rt.status >= 400 && rt.status < 500, `4xx (${rt.status})`);
    if (!isErrorBody(rt.body)) throw new Error(`expected the service's JSON error, got ${JSON.stringify(rt.body)}`);
    const error = page.getByRole('alert');
    t.ok(await error.isVisible(), 'error visible');
    const text = (await error.textContent()) ?? '';
    t.match(text, rt.body.error.message, 'shows the service\'s message');
    t.match(text, rt.body.error.code, 'and its code');
    t.equal(await page.locator('#results .result').count(), 0, 'no stale result beside the error');
    await page.close();
  });

  t.test('API_KEY set: no or wrong key shows the 401 message, the right key predicts', async (t) => {
    const key = randomBytes(12).toString('hex');
    const locked = await startService({ API_KEY: key });
    let lockedOpen = true;
    t.teardown(() => (lockedOpen ? locked.close() : undefined));
    const { page } = await openPage(browser, locked);
    const stroke = () => drawStroke(page, STROKES.seven);

    const none = await roundTrip(page, stroke);
    t.equal(none.status, 401, 'no key: 401');
    t.equal(none.request.headers().authorization, undefined, 'no Authorization header without a key');
    if (!isErrorBody(none.body)) throw new Error(`401 body ${JSON.stringify(none.body)}`);
    t.match(await page.getByRole('alert').textContent(), none.body.error.message, 'no key: the service\'s message is shown');
    t.match(await page.getByRole('alert').textContent(), /API key/, 'with a hint to paste the key');
    t.ok(await page.locator('#api-key').isVisible(), 'the key field is opened');

    await page.locator('#pad').focus();
    await page.keyboard.press('Escape');
    await page.getByLabel(/API key \(only needed/).fill('not-the-key');
    const wrong = await roundTrip(page, stroke);
    t.equal(wrong.status, 401, 'wrong key: 401');
    t.equal(wrong.request.headers().authorization, 'Bearer not-the-key', 'sent as a bearer token');
    if (!isErrorBody(wrong.body)) throw new Error(`401 body ${JSON.stringify(wrong.body)}`);
    t.ok(await page.getByRole('alert').isVisible(), 'wrong key: error visible');
    t.match(await page.getByRole('alert').textContent(), wrong.body.error.message, 'wrong key: the service\'s message is shown');

    await page.keyboard.press('Escape');
    await page.getByLabel(/API key \(only needed/).fill(key);
    const right = await roundTrip(page, stroke);
    t.equal(right.status, 200, 'right key: 200');
    t.ok(await page.getByRole('alert').isHidden(), 'right key: the error is gone');
    if (isPredictBody(right.body)) await checkShownMatches(t, page, right.body, 'right key');
    else t.fail(`right key: ${JSON.stringify(right.body)}`);

    await page.reload();
    await page.locator('body[data-ready="true"]').waitFor();
    t.equal(await page.locator('#api-key').inputValue(), key, 'the key survives a reload (this tab)');
    t.same(await storedKeys(page), { local: 0, session: 1 }, 'kept in sessionStorage only, unless asked to remember');
    await page.getByLabel(/Remember in this browser/).check();
    t.same(await storedKeys(page), { local: 1, session: 0 }, '"remember" moves it to localStorage');
    await page.getByLabel(/Remember in this browser/).uncheck();
    t.same(await storedKeys(page), { local: 0, session: 1 }, 'and unticking moves it back');

    // The service goes away: the page says so instead of hanging or going blank.
    await locked.close();
    lockedOpen = false;
    await drawStroke(page, STROKES.one);
    const alert = page.getByRole('alert');
    await alert.waitFor({ state: 'visible' });
    t.match(await alert.textContent(), /Could not reach the service/, 'network failure explained');
    await page.close();
  });
});

if (missing) t.comment(missing);
