import t from 'tap';
import { CONFIG_ENV_NAMES, ConfigError, configSchema, loadConfig } from '../../src/config.js';

t.test('defaults', async (t) => {
  const c = loadConfig({});
  t.equal(c.PORT, 8080);
  t.equal(c.MODEL_PATH, 'models/digits.onnx');
  t.same(c.EXECUTION_PROVIDERS, ['cpu']);
  t.equal(c.API_KEY, undefined);
  t.same(CONFIG_ENV_NAMES, Object.keys(configSchema.shape));
  for (const name of ['PORT', 'HOST', 'MODEL_PATH', 'EXECUTION_PROVIDERS', 'ORT_INTRA_OP_THREADS', 'BATCH_MAX_SIZE', 'BATCH_MAX_DELAY_MS',
    'QUEUE_MAX', 'MAX_FILES', 'MAX_FILE_BYTES', 'MAX_IMAGE_PIXELS', 'REQUEST_TIMEOUT_MS', 'LOG_LEVEL', 'API_KEY']) {
    t.ok(CONFIG_ENV_NAMES.includes(name as never), `${name} is a config variable`);
  }
});

t.test('values are parsed, providers are an ordered list', async (t) => {
  const c = loadConfig({ PORT: '9000', EXECUTION_PROVIDERS: ' CUDA , cpu', BATCH_MAX_SIZE: '1', API_KEY: 'secret-key-1', LOG_LEVEL: 'debug' });
  t.equal(c.PORT, 9000);
  t.same(c.EXECUTION_PROVIDERS, ['cuda', 'cpu']);
  t.equal(c.BATCH_MAX_SIZE, 1);
  t.equal(c.API_KEY, 'secret-key-1');
  t.equal(loadConfig({ PORT: '' }).PORT, 8080, 'an empty variable means the default');
});

t.test('an invalid value names the variable', async (t) => {
  const cases: Array<[Record<string, string>, string]> = [
    [{ PORT: 'eighty' }, 'PORT'],
    [{ PORT: '70000' }, 'PORT'],
    [{ EXECUTION_PROVIDERS: 'cuda,tpu' }, 'EXECUTION_PROVIDERS'],
    [{ EXECUTION_PROVIDERS: ',' }, 'EXECUTION_PROVIDERS'],
    [{ BATCH_MAX_SIZE: '0' }, 'BATCH_MAX_SIZE'],
    [{ BATCH_MAX_DELAY_MS: '-1' }, 'BATCH_MAX_DELAY_MS'],
    [{ QUEUE_MAX: '1.5' }, 'QUEUE_MAX'],
    [{ MAX_FILES: 'many' }, 'MAX_FILES'],
    [{ MAX_FILE_BYTES: '0' }, 'MAX_FILE_BYTES'],
    [{ MAX_IMAGE_PIXELS: 'x' }, 'MAX_IMAGE_PIXELS'],
    [{ REQUEST_TIMEOUT_MS: '5' }, 'REQUEST_TIMEOUT_MS'],
    [{ ORT_INTRA_OP_THREADS: '-2' }, 'ORT_INTRA_OP_THREADS'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL'],
    [{ API_KEY: 'short' }, 'API_KEY'],
  ];
  for (const [env, name] of cases) {
    const err = (() => { try { loadConfig(env); } catch (e) { return e; } return undefined; })();
    t.ok(err instanceof ConfigError, `${JSON.stringify(env)} is rejected`);
    t.same((err as ConfigError).variables, [name]);
    t.match((err as ConfigError).message, name);
  }
});
