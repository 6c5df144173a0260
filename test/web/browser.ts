// Headless Chromium for the page tests, driven by playwright-core against the Debian chromium
// binary (never a downloaded browser), plus the few page gestures the tests need.
import { existsSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';

/** Why the browser tests cannot run here, or null when they can. */
export function chromiumMissing(): string | null {
  return existsSync(CHROMIUM_PATH)
    ? null
    : `${CHROMIUM_PATH} not found: install the Debian package "chromium" to run the page tests (.ci/run installs it)`;
}

// Offline, quiet, deterministic: no GPU, no sandbox (containers), no update/sync/network chatter.
const ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-quic',
  '--no-first-run',
  '--disable-component-update',
  '--disable-sync',
  // Containers (CI) often give /dev/shm only 64 MB, which can crash renderers; use /tmp instead.
  '--disable-dev-shm-usage',
];

export interface Browser {
  context: BrowserContext;
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

/** A fresh profile per launch (its own --user-data-dir), deleted on close. */
export async function launchBrowser(): Promise<Browser> {
  const userDataDir = mkdtempSync(join(tmpdir(), 'onnx-digits-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM_PATH,
    headless: true,
    args: ARGS,
    viewport: { width: 1000, height: 760 },
    deviceScaleFactor: 1,
    // The page is light-themed; pin it so screenshots do not depend on the host.
    colorScheme: 'light',
    reducedMotion: 'reduce',
  });
  return {
    context,
    newPage: () => context.newPage(),
    close: async () => {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** A point on the drawing pad as fractions of its width and height (0..1). */
export type PadPoint = readonly [x: number, y: number];

/**
 * Draws one stroke through `points` with real mouse events (which Chromium turns into the
 * pointer events the page listens to), interpolating `steps` moves per segment.
 */
export async function drawStroke(page: Page, points: readonly PadPoint[], steps = 12): Promise<void> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('#pad is not visible');
  const at = ([x, y]: PadPoint) => [box.x + x * box.width, box.y + y * box.height] as const;
  const [first, ...rest] = points;
  if (!first) throw new Error('a stroke needs at least one point');
  await page.mouse.move(...at(first));
  await page.mouse.down();
  for (const p of rest) await page.mouse.move(...at(p), { steps });
  await page.mouse.up();
}

/**
 * The same stroke as a finger (touch events) or a pen (pen-type pointer), sent through the
 * DevTools protocol since Playwright's own API only moves a mouse.
 */
export async function drawStrokeAs(page: Page, kind: 'touch' | 'pen', points: readonly PadPoint[], steps = 12): Promise<void> {
  const box = await page.locator('#pad').boundingBox();
  if (!box) throw new Error('#pad is not visible');
  const cdp = await page.context().newCDPSession(page);
  try {
    const path: Array<{ x: number; y: number }> = [];
    points.forEach(([x, y], i) => {
      const prev = points[i - 1];
      const n = prev ? steps : 1;
      for (let k = 1; k <= n; k++) {
        const f = k / n;
        const [px, py] = prev ?? [x, y];
        path.push({ x: box.x + (px + (x - px) * f) * box.width, y: box.y + (py + (y - py) * f) * box.height });
      }
    });
    const [first, ...rest] = path;
    if (!first) throw new Error('a stroke needs at least one point');
    if (kind === 'touch') {
      await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 1 });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchStart', touchPoints: [first] });
      for (const p of rest) await cdp.send('Input.dispatchTouchEvent', { type: 'touchMove', touchPoints: [p] });
      await cdp.send('Input.dispatchTouchEvent', { type: 'touchEnd', touchPoints: [] });
    } else {
      const pen = { pointerType: 'pen' as const, button: 'left' as const };
      await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...first, ...pen, button: 'none' });
      await cdp.send('Input.dispatchMouseEvent', { type: 'mousePressed', ...first, ...pen, buttons: 1, clickCount: 1, force: 0.5 });
      for (const p of rest) await cdp.send('Input.dispatchMouseEvent', { type: 'mouseMoved', ...p, ...pen, buttons: 1, force: 0.5 });
      const last = rest.at(-1) ?? first;
      await cdp.send('Input.dispatchMouseEvent', { type: 'mouseReleased', ...last, ...pen, buttons: 0, clickCount: 1 });
    }
  } finally {
    await cdp.detach();
  }
}

/** Strokes shaped like handwritten digits, in pad fractions. */
export const STROKES = {
  // A slightly slanted vertical bar, as most people write a 1.
  one: [[0.54, 0.15], [0.47, 0.86]],
  // Top bar left to right, then the long diagonal down to the lower left: one stroke.
  seven: [[0.24, 0.2], [0.76, 0.2], [0.62, 0.45], [0.46, 0.86]],
} as const satisfies Record<string, readonly PadPoint[]>;

/** Writes bytes via a temp file and rename so a reader never sees a partial file. */
export function writeFileAtomic(path: string, bytes: Uint8Array): void {
  const tmp = `${path}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, path);
}
