// zod schemas for /predict's query string and JSON body (the wire contract is openapi.yaml).
import { z } from 'zod';
import { AppError } from '../errors.js';

const flag = z.enum(['1', '0', 'true', 'false']).transform((v) => v === '1' || v === 'true');

export const predictQuerySchema = z.object({
  preprocess: z.enum(['auto', 'none']).default('auto'),
  topk: z.coerce.number().int().min(1).max(10).default(3),
  debug: flag.default(false),
}).strict();

export type PredictQuery = z.infer<typeof predictQuerySchema>;

export const predictJsonSchema = z.object({
  images: z.array(z.string(), { error: 'images must be an array of base64 strings' }).min(1, 'images must not be empty'),
}).strict();

/** zod issues -> one 400 naming the field. */
export function parseOr400<T>(schema: z.ZodType<T>, value: unknown, where: 'query' | 'body'): T {
  const r = schema.safeParse(value ?? {});
  if (r.success) return r.data;
  const issue = r.error.issues[0];
  const field = issue.path.length ? issue.path.join('.') : issue.code === 'unrecognized_keys' ? (issue as { keys?: string[] }).keys?.join(',') ?? '' : '';
  throw new AppError('invalid_request', `${where}${field ? ` field "${field}"` : ''}: ${issue.message}`, { details: { field: `${where}.${field}` } });
}
