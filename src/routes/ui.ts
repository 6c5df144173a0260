// The draw-a-digit page: static files from src/public served at `/`. Registered by app.ts with
// one line; the page itself only talks to POST /predict like any other client.
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';
import fastifyStatic, { type SetHeadersResponse } from '@fastify/static';

export interface UiRouteOptions {
  /** Folder with index.html and its modules; defaults to src/public next to this file. */
  root?: string;
}

export const PUBLIC_DIR = fileURLToPath(new URL('../public/', import.meta.url));

// The page loads nothing but its own files, draws base64 PNGs from /predict as data: URLs and
// fetches only its own origin; saying so stops injected markup from running or phoning home.
const CONTENT_SECURITY_POLICY = [
  "default-src 'self'",
  "img-src 'self' data: blob:",
  "style-src 'self'",
  "script-src 'self'",
  "connect-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ');

// @fastify/static 9 (the line that supports Node 20) hands setHeaders the raw response.
function setHeaders(res: SetHeadersResponse, path: string): void {
  res.setHeader('X-Content-Type-Options', 'nosniff');
  // Revalidate every load (ETag keeps that cheap) so a redeployed page is never stale.
  res.setHeader('Cache-Control', 'no-cache');
  if (path.endsWith('.html')) res.setHeader('Content-Security-Policy', CONTENT_SECURITY_POLICY);
}

export default async function uiRoutes(app: FastifyInstance, opts: UiRouteOptions = {}): Promise<void> {
  await app.register(fastifyStatic, {
    root: opts.root ?? PUBLIC_DIR,
    prefix: '/',
    index: 'index.html',
    // One route per file found at start-up instead of a catch-all `/*`, so the page can never
    // shadow or be shadowed by the API's routes and unknown paths keep the API's JSON 404.
    wildcard: false,
    // Another @fastify/static registration (e.g. for docs) may own reply.sendFile.
    decorateReply: false,
    cacheControl: false, // ours below: its default (max-age=0, public) would replace it
    setHeaders,
  });
}
