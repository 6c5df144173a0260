import t from 'tap';
import sharp from 'sharp';
import { isAppError } from '../../src/errors.js';
import { encodeModelInputPng, preprocessImage, type PreprocessOptions } from '../../src/preprocess/index.js';
import { borderLevel, fitLongerSide, inkBoundingBox, placeByCentreOfMass, rgbaToGrey, toInkOnBlack } from '../../src/preprocess/normalise.js';
import { alignedDiff, encodeKind, IMAGE_KINDS, meanAbsDiff, renderDigit, VARIANTS } from './helpers/images.js';
import { loadMnistTest, mnistDigit } from './helpers/mnist.js';
import { encodePng, pngWithDeclaredSize, readIhdr, withBadCrc } from './helpers/png.js';
import { seededRandom } from './helpers/tiny-model.js';

const auto: PreprocessOptions = { mode: 'auto', maxPixels: 4_000_000 };
const none: PreprocessOptions = { mode: 'none', maxPixels: 4_000_000 };
const mnist = loadMnistTest(200);
const seed = Date.now() >>> 0;
const rand = seededRandom(seed);
const pick = () => Math.floor(rand() * mnist.count);

async function codeOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return isAppError(e) ? e.code : `untyped: ${(e as Error).message}`;
  }
}

t.test('normalise: pure steps', async (t) => {
  t.test('transparent black strokes are composited onto white, not read as black-on-black', async (t) => {
    const rgba = new Uint8Array(4 * 4 * 4);
    rgba[(1 * 4 + 1) * 4 + 3] = 255; // one opaque black pixel, the rest transparent black
    const grey = rgbaToGrey(rgba, 4, 4);
    t.equal(grey.data[5], 0);
    t.equal(grey.data[0], 255);
  });
  t.test('transparent white strokes are composited onto black', async (t) => {
    const rgba = new Uint8Array(4 * 4 * 4).fill(255);
    for (let i = 0; i < 16; i++) rgba[i * 4 + 3] = i === 5 ? 255 : 0;
    const grey = rgbaToGrey(rgba, 4, 4);
    t.equal(grey.data[5], 255);
    t.equal(grey.data[0], 0);
  });
  t.test('light paper is inverted and stretched to [0,1]', async (t) => {
    const data = new Float32Array(25).fill(200);
    data[12] = 40;
    const { image, blank } = toInkOnBlack({ width: 5, height: 5, data });
    t.equal(borderLevel({ width: 5, height: 5, data }), 200);
    t.notOk(blank);
    t.equal(image.data[12], 1);
    t.equal(image.data[0], 0);
  });
  t.test('no contrast is blank', async (t) => {
    const { blank } = toInkOnBlack({ width: 5, height: 5, data: new Float32Array(25).fill(130) });
    t.ok(blank);
  });
  t.test('bounding box, fit and centre of mass', async (t) => {
    const data = new Float32Array(100);
    data[3 * 10 + 2] = 1;
    data[6 * 10 + 7] = 0.5;
    t.same(inkBoundingBox({ width: 10, height: 10, data }), { x: 2, y: 3, width: 6, height: 4 });
    t.same(fitLongerSide(40, 10), { width: 20, height: 5 });
    t.same(fitLongerSide(3, 60), { width: 1, height: 20 });
    const dot = new Float32Array(4).fill(1);
    const placed = placeByCentreOfMass({ width: 2, height: 2, data: dot }, 28);
    // a 2×2 blob's mass centre (index coords 0.5) lands on index 14 -> pixels 13..14 and 14..15 -> rounding picks 14 or 13
    const lit = Array.from(placed.keys()).filter((i) => placed[i] > 0);
    t.equal(lit.length, 4);
    const xs = lit.map((i) => i % 28), ys = lit.map((i) => Math.floor(i / 28));
    t.ok(Math.abs((Math.min(...xs) + Math.max(...xs)) / 2 - 14) <= 0.5);
    t.ok(Math.abs((Math.min(...ys) + Math.max(...ys)) / 2 - 14) <= 0.5);
  });
});

t.test('every PNG kind (and JPEG/WebP) decodes to the same model input as the plain digit', async (t) => {
  for (let n = 0; n < 3; n++) {
    const i = pick();
    const digit = mnistDigit(mnist, i);
    const ref = await preprocessImage(await renderDigit(digit, 'plain'), auto);
    for (const kind of IMAGE_KINDS) {
      const bytes = await encodeKind(digit, kind);
      if (kind === 'interlaced') t.equal(readIhdr(bytes).interlace, 1, 'the interlaced fixture is Adam7');
      if (kind === 'grey16' || kind === 'rgba16') t.equal(readIhdr(bytes).bitDepth, 16);
      const got = await preprocessImage(bytes, auto);
      t.equal(got.pixels.length, 784);
      t.notOk(got.blank, `${kind} digit #${i} is not blank`);
      // lossless kinds carry the same samples: same input up to rounding; lossy ones blur a
      // little and may move the mass centre by a pixel
      const lossy = kind === 'jpeg' || kind === 'webp';
      const diff = lossy ? alignedDiff(ref.pixels, got.pixels) : meanAbsDiff(ref.pixels, got.pixels);
      t.ok(diff < (lossy ? 0.05 : 0.01), `${kind} digit #${i} matches plain (diff ${diff.toFixed(4)}, seed ${seed})`);
    }
  }
});

t.test('user-style renderings (inverted, transparent, big off-centre, 16-bit, palette) match the plain digit', async (t) => {
  for (let n = 0; n < 4; n++) {
    const i = pick();
    const digit = mnistDigit(mnist, i);
    const ref = await preprocessImage(await renderDigit(digit, 'plain'), auto);
    t.ok(meanAbsDiff(ref.pixels, Float32Array.from(digit, (v) => v / 255)) < 0.01, 'auto preprocessing keeps an MNIST digit as it is');
    for (const v of VARIANTS) {
      // resampled renderings blur a little and may move the mass centre by a pixel
      const got = await preprocessImage(await renderDigit(digit, v, rand), auto);
      const diff = alignedDiff(ref.pixels, got.pixels);
      t.ok(diff < 0.05, `${v} digit #${i} (diff ${diff.toFixed(4)}, seed ${seed})`);
    }
  }
});

t.test('any random image gives 784 values in [0,1] or a typed error', async (t) => {
  for (let n = 0; n < 12; n++) {
    const w = 1 + Math.floor(rand() * 90), h = 1 + Math.floor(rand() * 90);
    const colour = (['grey', 'rgb', 'rgba', 'grey-alpha'] as const)[n % 4];
    const ch = { grey: 1, rgb: 3, rgba: 4, 'grey-alpha': 2 }[colour];
    const samples = Array.from({ length: w * h * ch }, () => Math.floor(rand() * 256));
    const r = await preprocessImage(encodePng({ width: w, height: h, colour, samples }), auto);
    t.equal(r.pixels.length, 784);
    t.ok(r.pixels.every((v) => v >= 0 && v <= 1 && Number.isFinite(v)), `${colour} ${w}×${h} in range (seed ${seed})`);
  }
});

t.test('blank images are answered, flagged blank', async (t) => {
  for (const v of [0, 255, 128]) {
    const r = await preprocessImage(encodePng({ width: 40, height: 30, colour: 'grey', samples: new Array(1200).fill(v) }), auto);
    t.ok(r.blank, `uniform ${v}`);
    t.ok(r.pixels.every((p) => p === 0));
  }
  const transparent = await preprocessImage(encodePng({ width: 20, height: 20, colour: 'rgba', samples: new Array(1600).fill(0) }), auto);
  t.ok(transparent.blank, 'fully transparent');
  const oneByOne = await preprocessImage(encodePng({ width: 1, height: 1, colour: 'grey', samples: [255] }), auto);
  t.ok(oneByOne.blank, '1×1');
});

t.test('preprocess=none: 28×28 used as is, other sizes are 422 wrong_size', async (t) => {
  const digit = mnistDigit(mnist, pick());
  const r = await preprocessImage(await renderDigit(digit, 'plain'), none);
  t.same(Array.from(r.pixels), Array.from(digit, (v) => v / 255).map((v) => Math.fround(v)));
  const inv = await preprocessImage(await renderDigit(digit, 'inverted'), none);
  t.equal(inv.pixels[0], 1, 'no inversion in none mode');
  t.equal(await codeOf(preprocessImage(encodePng({ width: 29, height: 28, colour: 'grey', samples: new Array(29 * 28).fill(0) }), none)), 'wrong_size');
});

t.test('bad bytes are typed errors', async (t) => {
  const good = await renderDigit(mnistDigit(mnist, 0), 'big-offcentre', rand);
  t.equal(await codeOf(preprocessImage(new Uint8Array(0), auto)), 'unsupported_media_type', 'zero bytes');
  t.equal(await codeOf(preprocessImage(Buffer.from('hello, I am not a PNG'), auto)), 'unsupported_media_type', 'text');
  t.equal(await codeOf(preprocessImage(good.subarray(0, Math.floor(good.length / 2)), auto)), 'invalid_image', 'truncated');
  t.equal(await codeOf(preprocessImage(good.subarray(0, 20), auto)), 'invalid_image', 'truncated inside the header');
  t.equal(await codeOf(preprocessImage(withBadCrc(good), auto)), 'invalid_image', 'bad CRC');
  t.equal(await codeOf(preprocessImage(pngWithDeclaredSize(100_000, 100_000), auto)), 'image_too_large', 'huge declared size');
  t.equal(await codeOf(preprocessImage(pngWithDeclaredSize(3000, 3000), { mode: 'auto', maxPixels: 1_000_000 })), 'image_too_large', 'over the configured limit');
  const gif = Buffer.from('R0lGODlhAQABAIAAAAAAAP///ywAAAAAAQABAAACAUwAOw==', 'base64');
  t.equal(await codeOf(preprocessImage(gif, auto)), 'unsupported_media_type', 'GIF is not accepted');
});

t.test('encodeModelInputPng round-trips the model input', async (t) => {
  const r = await preprocessImage(await renderDigit(mnistDigit(mnist, pick()), 'big-offcentre', rand), auto);
  const png = await encodeModelInputPng(r.pixels);
  t.equal(readIhdr(png).colourType, 0, 'grey PNG');
  const { data, info } = await sharp(png).toColourspace('b-w').raw().toBuffer({ resolveWithObject: true });
  t.same([info.width, info.height, info.channels], [28, 28, 1]);
  t.ok(Array.from(data).every((v, i) => Math.abs(v - Math.round(r.pixels[i] * 255)) === 0));
});
