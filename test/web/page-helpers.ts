// What the page tests share: a real listening service, one /predict round trip through the
// page, and reading back what the page shows.
import type { Page, Request } from 'playwright-core';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import { buildApp } from '../../src/app.js';
import { makeConfig } from '../../src/config.js';
import { buildTinyModel } from '../service/helpers/tiny-model.js';

export const REAL_MODEL = fileURLToPath(new URL('../../models/digits.onnx', import.meta.url));
/** Skip reason for assertions about which digit the trained model reads; false when it exists. */
export const NO_MODEL: string | false = existsSync(REAL_MODEL) ? false : 'models/digits.onnx not yet built';

export interface RunningService { url: string; close(): Promise<void> }

/**
 * buildApp + listen on loopback with an ephemeral port, ready to answer. Uses the trained model
 * when it exists, else a throwaway one (then the page still works end to end, only the digits
 * it reads are arbitrary).
 */
export async function startService(env: Record<string, string | number> = {}): Promise<RunningService> {
  let modelPath = REAL_MODEL;
  let tmp: string | null = null;
  if (NO_MODEL) {
    tmp = mkdtempSync(join(tmpdir(), 'onnx-digits-web-'));
    modelPath = join(tmp, 'tiny.onnx');
    writeFileSync(modelPath, buildTinyModel());
  }
  const config = makeConfig({
    HOST: '127.0.0.1', PORT: 0, MODEL_PATH: modelPath, LOG_LEVEL: 'silent',
    INFERENCE_WORKERS: 1, ORT_INTRA_OP_THREADS: 1, BATCH_MAX_SIZE: 4, ...env,
  });
  const app = await buildApp(config);
  await app.listen({ host: '127.0.0.1', port: 0 });
  const { port } = app.server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}/`;
  const close = async () => {
    await app.close();
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  };
  try {
    await waitReady(url);
  } catch (err) {
    await close();
    throw err;
  }
  return { url, close };
}

/** Polls /readyz (model loaded and warmed) — a wait with a generous cap, not a speed check. */
async function waitReady(base: string): Promise<void> {
  let last = '';
  for (let i = 0; i < 600; i++) {
    const res = await fetch(new URL('readyz', base)).catch((e: unknown) => e as Error);
    if (!(res instanceof Error) && res.ok) return;
    last = res instanceof Error ? res.message : `HTTP ${res.status} ${await res.text()}`;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`service at ${base} never became ready: ${last}`);
}

export interface PredictBody {
  predictions: Array<{ index: number; digit: number; confidence: number; probabilities: number[]; unsure: boolean; input_png?: string; filename?: string }>;
}
export interface ErrorBody { error: { code: string; message: string; details?: unknown } }

export interface RoundTrip { request: Request; status: number; body: unknown }

/**
 * Runs `action` (a stroke, an upload) and returns the POST /predict it caused, once the page
 * has finished rendering the answer.
 */
export async function roundTrip(page: Page, action: () => Promise<void>): Promise<RoundTrip> {
  const responded = page.waitForResponse((r) => new URL(r.url()).pathname === '/predict');
  await action();
  const response = await responded;
  const body: unknown = await response.json().catch(() => null);
  await page.locator('#results:not([aria-busy="true"])').waitFor({ state: 'attached' });
  return { request: response.request(), status: response.status(), body };
}

export interface ShownResult {
  title: string;
  digit: string;
  unsureVisible: boolean;
  bars: Array<{ digit: string; value: string; top: boolean; widthPct: number }>;
  input: { src: string; naturalWidth: number; naturalHeight: number; width: number; height: number; rendering: string; visible: boolean };
  sentVisible: boolean;
}

/** The in-page reader (test/web/probe.js), added to every page before its own scripts run. */
export const PROBE_SCRIPT = fileURLToPath(new URL('probe.js', import.meta.url));

/** Everything the result cards show, read from the DOM as a person would see it. */
export function readShown(page: Page): Promise<ShownResult[]> {
  return page.evaluate<ShownResult[]>('window.pageProbe.readShown()');
}

/** How many pixels of the drawing pad are not black. */
export function inkedPixels(page: Page): Promise<number> {
  return page.evaluate<number>('window.pageProbe.inkedPixels()');
}

/** Drops `bytes` as file `name` on the page's drop zone. */
export function dropFile(page: Page, bytes: Buffer, name: string): Promise<void> {
  return page.evaluate<void>(`window.pageProbe.dropFile(${JSON.stringify(bytes.toString('base64'))}, ${JSON.stringify(name)})`);
}

/** pointerType of every pointerdown the pad received so far. */
export function pointerTypes(page: Page): Promise<string[]> {
  return page.evaluate<string[]>('window.pageProbe.pointerTypes()');
}

/** Entries in the page's localStorage and sessionStorage. */
export function storedKeys(page: Page): Promise<{ local: number; session: number }> {
  return page.evaluate<{ local: number; session: number }>('window.pageProbe.storedKeys()');
}

/** The percentage text the page prints for a probability (one decimal). */
export function pctText(p: number): string {
  return new Intl.NumberFormat('en', { style: 'percent', minimumFractionDigits: 1, maximumFractionDigits: 1 }).format(p);
}

export function isPredictBody(b: unknown): b is PredictBody {
  return typeof b === 'object' && b !== null && Array.isArray((b as PredictBody).predictions);
}
export function isErrorBody(b: unknown): b is ErrorBody {
  return typeof b === 'object' && b !== null && typeof (b as ErrorBody).error?.message === 'string';
}
