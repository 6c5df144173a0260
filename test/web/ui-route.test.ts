import t from 'tap';
import Fastify from 'fastify';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import uiRoutes, { PUBLIC_DIR } from '../../src/routes/ui.js';

// The ui plugin alone, through app.inject: the page and each of its modules are served with
// the right types and headers, and nothing outside src/public leaks.
async function build(t: { teardown: (fn: () => unknown) => void }) {
  const app = Fastify();
  await app.register(uiRoutes);
  await app.ready();
  t.teardown(() => app.close());
  return app;
}

t.test('GET / serves index.html with a CSP and no-cache', async (t) => {
  const app = await build(t);
  const res = await app.inject('/');
  t.equal(res.statusCode, 200);
  t.match(res.headers['content-type'], /^text\/html/);
  t.equal(res.body, readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8'));
  t.match(res.headers['content-security-policy'], /default-src 'self'/);
  t.equal(res.headers['cache-control'], 'no-cache');
  t.equal(res.headers['x-content-type-options'], 'nosniff');
});

t.test('every module and stylesheet the page references is served with its type', async (t) => {
  const app = await build(t);
  const html = readFileSync(join(PUBLIC_DIR, 'index.html'), 'utf8');
  const refs = [...html.matchAll(/(?:src|href)="([^"#:]+)"/g)].map((m) => m[1]!);
  // Modules import each other by relative path: follow those too.
  const js = readdirSync(PUBLIC_DIR).filter((f) => f.endsWith('.js'));
  for (const f of js) {
    for (const m of readFileSync(join(PUBLIC_DIR, f), 'utf8').matchAll(/from '\.\/([^']+)'/g)) refs.push(m[1]!);
  }
  t.ok(refs.includes('app.js') && refs.includes('style.css'), `references found: ${refs.join(', ')}`);
  for (const ref of new Set(refs)) {
    const res = await app.inject(`/${ref}`);
    t.equal(res.statusCode, 200, `${ref} served`);
    const want = ref.endsWith('.js') ? /javascript/ : ref.endsWith('.css') ? /^text\/css/ : /./;
    t.match(res.headers['content-type'], want, `${ref} content-type`);
  }
});

t.test('unknown paths and path traversal get 404, not files', async (t) => {
  const app = await build(t);
  for (const url of ['/nope.js', '/../package.json', '/%2e%2e/package.json', '/routes/ui.ts']) {
    const res = await app.inject(url);
    t.equal(res.statusCode, 404, url);
  }
});

t.test('HEAD / answers like GET without a body', async (t) => {
  const app = await build(t);
  const res = await app.inject({ method: 'HEAD', url: '/' });
  t.equal(res.statusCode, 200);
  t.equal(res.body, '');
});
