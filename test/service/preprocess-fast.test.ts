// The small-PNG fast path (src/preprocess/png-fast.ts) must give exactly the pixels sharp gives,
// and hand everything it does not handle back to sharp (undefined), never a wrong image.
import t from 'tap';
import sharp from 'sharp';
import { decodeSmallPng, FAST_PNG_MAX_PIXELS, pngDimensions } from '../../src/preprocess/png-fast.js';
import { encodePng, withBadCrc } from './helpers/png.js';
import { seededRandom } from './helpers/tiny-model.js';

const seed = Date.now() >>> 0;
const rand = seededRandom(seed);

async function sharpRgba(png: Buffer): Promise<Uint8Array> {
  const { data } = await sharp(png).toColourspace('srgb').ensureAlpha().raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  return new Uint8Array(data.buffer, data.byteOffset, data.length);
}

/** Random images, smooth enough that sharp's adaptive filtering picks every PNG row filter. */
function randomRaw(w: number, h: number, channels: 1 | 2 | 3 | 4): Buffer {
  const out = Buffer.alloc(w * h * channels);
  const smooth = rand() < 0.5;
  for (let i = 0; i < out.length; i++) {
    out[i] = smooth && i >= channels ? (out[i - channels] + Math.floor(rand() * 9) - 4) & 0xff : Math.floor(rand() * 256);
  }
  return out;
}

t.test('decodes 8-bit grey, grey+alpha, RGB and RGBA exactly as sharp does (all row filters)', async (t) => {
  for (let n = 0; n < 24; n++) {
    const channels = ([1, 2, 3, 4] as const)[n % 4];
    const w = 1 + Math.floor(rand() * 100), h = 1 + Math.floor(FAST_PNG_MAX_PIXELS / w / (1 + rand() * 3));
    const png = await sharp(randomRaw(w, h, channels), { raw: { width: w, height: h, channels } })
      .png({ adaptiveFiltering: n % 2 === 0, compressionLevel: n % 10 })
      .toBuffer();
    const fast = decodeSmallPng(png);
    t.ok(fast, `${channels}-channel ${w}×${h} takes the fast path`);
    if (!fast) continue;
    t.same([fast.width, fast.height], [w, h]);
    const ref = await sharpRgba(png);
    t.ok(Buffer.from(fast.rgba).equals(Buffer.from(ref)), `${channels}-channel ${w}×${h} equals sharp's pixels (seed ${seed})`);
  }
});

t.test('also the test encoder\'s PNGs (filter 0)', async (t) => {
  const w = 28, h = 28;
  const png = encodePng({ width: w, height: h, colour: 'grey', samples: Array.from({ length: w * h }, () => Math.floor(rand() * 256)) });
  const fast = decodeSmallPng(png);
  t.ok(fast);
  t.ok(fast && Buffer.from(fast.rgba).equals(Buffer.from(await sharpRgba(png))));
  t.same(pngDimensions(png), { width: w, height: h });
});

t.test('everything else goes back to sharp (undefined)', async (t) => {
  const grey = (w: number, h: number) => Array.from({ length: w * h }, () => Math.floor(rand() * 256));
  const small = encodePng({ width: 10, height: 10, colour: 'grey', samples: grey(10, 10) });
  t.equal(decodeSmallPng(encodePng({ width: 10, height: 10, colour: 'grey', bitDepth: 16, samples: grey(10, 10).map((v) => v * 257) })), undefined, '16-bit');
  t.equal(decodeSmallPng(encodePng({ width: 10, height: 10, colour: 'palette', samples: new Array(100).fill(0), palette: [[0, 0, 0], [255, 255, 255]] })), undefined, 'palette');
  const interlaced = await sharp(Buffer.alloc(100), { raw: { width: 10, height: 10, channels: 1 } }).png({ progressive: true }).toBuffer();
  t.equal(decodeSmallPng(interlaced), undefined, 'interlaced');
  const big = 129;
  t.equal(decodeSmallPng(encodePng({ width: big, height: big, colour: 'grey', samples: grey(big, big) })), undefined, 'over the size limit');
  t.equal(decodeSmallPng(withBadCrc(small)), undefined, 'bad CRC');
  t.equal(decodeSmallPng(small.subarray(0, small.length - 5)), undefined, 'truncated');
  t.equal(decodeSmallPng(new Uint8Array(0)), undefined, 'empty');
  t.equal(decodeSmallPng(Buffer.from('not a png at all, just some text here')), undefined, 'text');
});
