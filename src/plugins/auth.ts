// Optional bearer-token check for /predict (API_KEY). Probes and metrics stay open.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { AppError } from '../errors.js';

const digest = (s: string) => createHash('sha256').update(s).digest();

export function bearerAuth(apiKey: string | undefined): (request: FastifyRequest) => Promise<void> {
  if (!apiKey) return async () => undefined;
  const expected = digest(apiKey);
  return async (request) => {
    const header = request.headers.authorization;
    const m = typeof header === 'string' ? /^Bearer\s+(.+)$/i.exec(header.trim()) : null;
    if (!m) throw new AppError('unauthorized', 'missing Authorization: Bearer <API key> header');
    // compare digests: equal length, constant time, no length leak
    if (!timingSafeEqual(digest(m[1]), expected)) throw new AppError('unauthorized', 'wrong API key');
  };
}
