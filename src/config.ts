// Service configuration: environment variables parsed once by one zod schema. An invalid value
// stops start-up with a message naming the variable (see ConfigError). The deployment checks
// read CONFIG_ENV_NAMES / configSchema to know which variables exist.
import { z } from 'zod';

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);

export const EXECUTION_PROVIDER_NAMES = ['cuda', 'cpu'] as const;
export type ExecutionProviderName = (typeof EXECUTION_PROVIDER_NAMES)[number];

const providerList = z
  .string()
  .transform((s) => s.split(',').map((p) => p.trim().toLowerCase()).filter((p) => p.length > 0))
  .pipe(z.array(z.enum(EXECUTION_PROVIDER_NAMES)).min(1, 'list at least one provider'));

const optionalSecret = z
  .string()
  .optional()
  .transform((s) => (s === undefined || s === '' ? undefined : s))
  .refine((s) => s === undefined || s.length >= 8, 'must be at least 8 characters when set');

/** Keys are the environment variable names; values carry their defaults. */
export const configSchema = z.object({
  PORT: int(0, 65535).default(8080),
  HOST: z.string().min(1).default('0.0.0.0'),
  MODEL_PATH: z.string().min(1).default('models/digits.onnx'),
  EXECUTION_PROVIDERS: providerList.default(['cpu']),
  ORT_INTRA_OP_THREADS: int(0, 256).default(1).describe('0 lets onnxruntime choose'),
  INFERENCE_WORKERS: int(1, 64).default(1),
  BATCH_MAX_SIZE: int(1, 1024).default(32),
  BATCH_MAX_DELAY_MS: int(0, 10_000).default(5),
  QUEUE_MAX: int(1, 1_000_000).default(1024),
  QUEUE_MAX_WAIT_MS: int(1, 600_000).default(1000).describe('new /predict requests get 503 while the oldest one in progress is older'),
  MAX_FILES: int(1, 1024).default(16),
  MAX_FILE_BYTES: int(64, 100 * 1024 * 1024).default(5 * 1024 * 1024),
  MAX_IMAGE_PIXELS: int(1, 268_402_689).default(16_777_216),
  PREPROCESS_CONCURRENCY: int(1, 64).default(4),
  REQUEST_TIMEOUT_MS: int(100, 600_000).default(10_000),
  DRAIN_TIMEOUT_MS: int(100, 600_000).default(15_000),
  UNSURE_THRESHOLD: z.coerce.number().min(0).max(1).default(0.5),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  API_KEY: optionalSecret,
});

export type Config = z.infer<typeof configSchema>;
export type ConfigInput = z.input<typeof configSchema>;

export const CONFIG_ENV_NAMES = Object.keys(configSchema.shape) as Array<keyof Config>;

export class ConfigError extends Error {
  readonly variables: string[];
  constructor(issues: Array<{ variable: string; message: string }>) {
    super(`invalid configuration: ${issues.map((i) => `${i.variable}: ${i.message}`).join('; ')}`);
    this.name = 'ConfigError';
    this.variables = issues.map((i) => i.variable);
  }
}

/** Parse the environment once. Empty strings count as unset (so `PORT=` means the default). */
export function loadConfig(env: Record<string, string | undefined> = process.env): Config {
  const picked: Record<string, string | undefined> = {};
  for (const name of CONFIG_ENV_NAMES) {
    const v = env[name];
    picked[name] = v === undefined || v.trim() === '' ? undefined : v.trim();
  }
  const parsed = configSchema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(parsed.error.issues.map((i) => ({ variable: String(i.path[0] ?? '?'), message: i.message })));
  }
  return parsed.data;
}

/** Defaults for tests and embedding: loadConfig over an explicit object, not process.env. */
export function makeConfig(overrides: Partial<Record<keyof Config, string | number>> = {}): Config {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(overrides)) if (v !== undefined) env[k] = String(v);
  return loadConfig(env);
}
