// The bad-input corpus, against a real listening server: every input gets a 4xx JSON error that
// matches openapi.yaml (or a 200 where the input is merely odd), never a 5xx, and the server
// keeps answering after each one.
import t, { type Test } from 'tap';
import type { AddressInfo } from 'node:net';
import { build } from './helpers/app.js';
import { renderDigit } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { imageParts, multipartBody } from './helpers/multipart.js';
import { componentMismatch, fetchToResponseLike, specMismatch } from './helpers/openapi.js';
import { encodePng, pngWithDeclaredSize, withBadCrc } from './helpers/png.js';

const MAX_FILES = 4;
const MAX_FILE_BYTES = 256 * 1024;
const app = await build(t, { MAX_FILES, MAX_FILE_BYTES, MAX_IMAGE_PIXELS: 4_000_000 });
await app.listen({ host: '127.0.0.1', port: 0 });
const base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;

const mnist = loadMnistTest(10);
const good = await renderDigit(mnistDigit(mnist, 0), 'big-offcentre');
const text = Buffer.from('Dear server, this is a letter, not a picture.\n');

interface Case {
  name: string;
  contentType?: string;
  body: Buffer | string;
  url?: string;
  status: number[];
  code?: string[];
}

const mp = (parts: Parameters<typeof multipartBody>[0]) => multipartBody(parts);
const json = (v: unknown) => JSON.stringify(v);
const tooBig = Buffer.concat([good, Buffer.alloc(MAX_FILE_BYTES)]);
const manyFiles = mp(imageParts(Array.from({ length: MAX_FILES + 1 }, () => good)));
const manyFields = mp([...Array.from({ length: 40 }, (_, i) => ({ name: `f${i}`, data: 'x' })), ...imageParts([good])]);
const onlyText = mp([{ name: 'image', data: good.toString('base64') }]);
const textAsPng = mp([{ name: 'image', filename: 'digit.png', contentType: 'image/png', data: text }]);
const truncatedForm = (() => { const m = mp(imageParts([good])); return { ...m, body: m.body.subarray(0, m.body.length - 200) }; })();
const oneByOne = encodePng({ width: 1, height: 1, colour: 'grey', samples: [0] });

const cases: Case[] = [
  { name: 'zero bytes (raw)', contentType: 'image/png', body: Buffer.alloc(0), status: [400], code: ['invalid_image'] },
  { name: 'zero-byte file part', ...mp([{ name: 'image', filename: 'empty.png', contentType: 'image/png', data: Buffer.alloc(0) }]), status: [400], code: ['invalid_image'] },
  { name: 'zero-byte base64 image', contentType: 'application/json', body: JSON.stringify({ images: [''] }), status: [400], code: ['invalid_image', 'invalid_request'] },
  { name: 'truncated PNG', contentType: 'image/png', body: good.subarray(0, Math.floor(good.length * 0.6)), status: [400], code: ['invalid_image'] },
  { name: 'PNG cut inside the header', contentType: 'image/png', body: good.subarray(0, 30), status: [400], code: ['invalid_image'] },
  { name: 'bad CRC', contentType: 'image/png', body: withBadCrc(good), status: [400], code: ['invalid_image'] },
  { name: 'text named .png (multipart)', ...textAsPng, status: [415], code: ['unsupported_media_type'] },
  { name: 'text sent as image/png', contentType: 'image/png', body: text, status: [415], code: ['unsupported_media_type'] },
  { name: 'huge declared dimensions', contentType: 'image/png', body: pngWithDeclaredSize(60_000, 60_000), status: [413], code: ['image_too_large'] },
  { name: 'huge declared dimensions (multipart)', ...mp([{ name: 'image', filename: 'bomb.png', contentType: 'image/png', data: pngWithDeclaredSize(30_000, 30_000) }]), status: [413], code: ['image_too_large'] },
  { name: '1×1 image', contentType: 'image/png', body: oneByOne, status: [200] },
  { name: 'more files than MAX_FILES', ...manyFiles, status: [413], code: ['too_many_files'] },
  { name: 'more images than MAX_FILES (JSON)', contentType: 'application/json', body: json({ images: Array(MAX_FILES + 1).fill(good.toString('base64')) }), status: [413], code: ['too_many_files'] },
  { name: 'many text fields', ...manyFields, status: [413], code: ['payload_too_large'] },
  { name: 'file over MAX_FILE_BYTES (raw)', contentType: 'image/png', body: tooBig, status: [413], code: ['payload_too_large'] },
  { name: 'file over MAX_FILE_BYTES (multipart)', ...mp(imageParts([tooBig])), status: [413], code: ['payload_too_large'] },
  { name: 'file over MAX_FILE_BYTES (JSON)', contentType: 'application/json', body: json({ images: [tooBig.toString('base64')] }), status: [413], code: ['payload_too_large'] },
  { name: 'multipart with only a text field', ...onlyText, status: [400], code: ['no_images'] },
  { name: 'multipart with no parts', ...mp([]), status: [400], code: ['no_images'] },
  { name: 'multipart cut short', ...truncatedForm, status: [400], code: ['invalid_request'] },
  { name: 'multipart without boundary', contentType: 'multipart/form-data', body: 'hello', status: [400], code: ['invalid_request'] },
  { name: 'JSON images is a string', contentType: 'application/json', body: json({ images: 'abc' }), status: [400], code: ['invalid_request'] },
  { name: 'JSON images are numbers', contentType: 'application/json', body: json({ images: [1, 2] }), status: [400], code: ['invalid_request'] },
  { name: 'JSON images empty', contentType: 'application/json', body: json({ images: [] }), status: [400], code: ['invalid_request'] },
  { name: 'JSON without images', contentType: 'application/json', body: json({ pictures: [good.toString('base64')] }), status: [400], code: ['invalid_request'] },
  { name: 'JSON array body', contentType: 'application/json', body: json([good.toString('base64')]), status: [400], code: ['invalid_request'] },
  { name: 'JSON null', contentType: 'application/json', body: 'null', status: [400], code: ['invalid_request'] },
  { name: 'JSON syntax error', contentType: 'application/json', body: '{"images": [', status: [400], code: ['invalid_request'] },
  { name: 'JSON __proto__ poisoning', contentType: 'application/json', body: '{"images": ["a"], "__proto__": {"x": 1}}', status: [400], code: ['invalid_request'] },
  { name: 'JSON invalid base64', contentType: 'application/json', body: json({ images: ['%%%not-base64%%%'] }), status: [400], code: ['invalid_image'] },
  { name: 'JSON base64 of text', contentType: 'application/json', body: json({ images: [text.toString('base64')] }), status: [415], code: ['unsupported_media_type'] },
  { name: 'one bad image among good ones', ...mp(imageParts([good, withBadCrc(good), good])), status: [400], code: ['invalid_image'] },
  { name: 'content type text/plain', contentType: 'text/plain', body: good.toString('base64'), status: [415], code: ['unsupported_media_type'] },
  { name: 'content type application/xml', contentType: 'application/xml', body: '<png/>', status: [415], code: ['unsupported_media_type'] },
  { name: 'content type image/gif', contentType: 'image/gif', body: good, status: [415], code: ['unsupported_media_type'] },
  { name: 'no content type', body: good, status: [415], code: ['unsupported_media_type'] },
  { name: 'octet-stream of text', contentType: 'application/octet-stream', body: text, status: [415], code: ['unsupported_media_type'] },
  { name: 'bad query', url: '/predict?topk=99', contentType: 'image/png', body: good, status: [400], code: ['invalid_request'] },
];

async function stillAnswering(t: Test, after: string) {
  const h = await fetch(`${base}/healthz`);
  t.equal(h.status, 200, `healthz after ${after}`);
  const p = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'image/png' }, body: good });
  t.equal(p.status, 200, `a good predict after ${after}`);
  await p.arrayBuffer();
}

for (const c of cases) {
  t.test(c.name, async (t) => {
    const headers: Record<string, string> = {};
    if (c.contentType) headers['content-type'] = c.contentType;
    const res = await fetch(`${base}${c.url ?? '/predict'}`, { method: 'POST', headers, body: c.body });
    const body = await res.text();
    t.ok(res.status < 500, `no 5xx (got ${res.status} ${body.slice(0, 200)})`);
    t.ok(c.status.includes(res.status), `status ${res.status} in ${c.status}`);
    if (res.status !== 200) {
      const code = (JSON.parse(body) as { error: { code: string } }).error.code;
      t.ok(c.code?.includes(code), `code ${code} in ${c.code}`);
      t.notMatch(body, /at .*\.ts:\d+|node_modules/, 'no stack trace');
    }
    t.equal(specMismatch('POST', '/predict', fetchToResponseLike(res, body)), '', 'matches openapi.yaml');
    await stillAnswering(t, c.name);
  });
}

t.test('wrong method and unknown route -> JSON 404', async (t) => {
  for (const [method, url] of [['GET', '/predict'], ['PUT', '/predict'], ['GET', '/nope'], ['POST', '/v1/models']]) {
    const res = await fetch(`${base}${url}`, { method });
    const body = await res.text();
    t.equal(res.status, 404, `${method} ${url}`);
    t.equal(componentMismatch('/components/responses/NotFound/content/application~1json/schema', JSON.parse(body)), '');
  }
  await stillAnswering(t, '404s');
});

t.test('a client that disconnects mid-upload does not hang or crash the server', async (t) => {
  const { request } = await import('node:http');
  const { body, contentType } = mp(imageParts([good]));
  await new Promise<void>((resolve) => {
    const req = request(`${base}/predict`, { method: 'POST', headers: { 'content-type': contentType, 'content-length': String(body.length) } });
    req.on('error', () => resolve());
    req.write(body.subarray(0, Math.floor(body.length / 2)), () => {
      setTimeout(() => { req.destroy(); resolve(); }, 20);
    });
  });
  await stillAnswering(t, 'an aborted upload');
});
