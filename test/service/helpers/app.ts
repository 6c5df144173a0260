// One build(t) helper for the service tests: a real app over a real (throwaway) ONNX model in
// real worker threads, ready to answer, closed at teardown.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { buildApp, type AppDeps } from '../../../src/app.js';
import { makeConfig, type Config } from '../../../src/config.js';
import { buildTinyModel, type TinyModelOptions } from './tiny-model.js';

interface Teardown { teardown(fn: () => unknown): void }

const dir = mkdtempSync(join(tmpdir(), 'onnx-digits-service-test-'));
let counter = 0;

/** Write a tiny model to a temp file and return its path. */
export function tinyModelFile(opts: TinyModelOptions = {}): string {
  const path = join(dir, `tiny-${process.pid}-${counter++}.onnx`);
  writeFileSync(path, buildTinyModel(opts));
  return path;
}

export type ConfigOverrides = Partial<Record<keyof Config, string | number>>;

export function testConfig(overrides: ConfigOverrides = {}): Config {
  return makeConfig({
    MODEL_PATH: overrides.MODEL_PATH ?? tinyModelFile(),
    LOG_LEVEL: 'silent',
    BATCH_MAX_SIZE: 8,
    BATCH_MAX_DELAY_MS: 2,
    ...overrides,
  });
}

export async function build(t: Teardown, overrides: ConfigOverrides = {}, deps: AppDeps = {}): Promise<FastifyInstance> {
  const app = await buildApp(testConfig(overrides), deps);
  t.teardown(() => app.close());
  await app.ready();
  await app.host.loaded;
  return app;
}
