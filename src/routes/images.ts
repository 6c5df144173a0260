// Collect the uploaded images from the three body kinds /predict accepts. Multipart file
// streams are always read to the end (an unconsumed part stream is a classic hang).
import type { FastifyRequest } from 'fastify';
import type {} from '@fastify/multipart'; // request.parts() / isMultipart() types
import type { Config } from '../config.js';
import { AppError } from '../errors.js';
import { parseOr400, predictJsonSchema } from './schemas.js';

export interface UploadedImage { bytes: Buffer; filename?: string; field?: string }

/** Raw bodies with these types carry one image; the format is still decided from the bytes. */
export const RAW_IMAGE_TYPES = ['image/png', 'image/jpeg', 'image/webp', 'application/octet-stream'];

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const DATA_URL = /^data:[\w.+-]+\/[\w.+-]+;base64,/;

function tooMany(n: number, max: number): AppError {
  return new AppError('too_many_files', `at most ${max} images per request`, { details: { max, received: n } });
}

function checkSize(bytes: Buffer, max: number, index: number, filename?: string): void {
  if (bytes.length > max) {
    throw new AppError('payload_too_large', `image ${index} is ${bytes.length} bytes; the limit is ${max}`,
      { details: { index, ...(filename ? { filename } : {}), maxBytes: max } });
  }
}

async function fromMultipart(request: FastifyRequest, config: Config): Promise<UploadedImage[]> {
  const images: UploadedImage[] = [];
  const textFields: string[] = [];
  for await (const part of request.parts()) {
    if (part.type === 'file') {
      const bytes = await part.toBuffer(); // throws 413 past MAX_FILE_BYTES (throwFileSizeLimit)
      images.push({ bytes, filename: part.filename || undefined, field: part.fieldname });
    } else {
      textFields.push(part.fieldname); // extra form fields are allowed and ignored
    }
    if (request.deadline?.aborted) throw request.deadline.reason;
  }
  if (images.length === 0) {
    throw new AppError('no_images', textFields.length
      ? `multipart body has no file parts (text fields ${textFields.map((f) => `"${f}"`).join(', ')} are not images; send files)`
      : 'multipart body has no file parts', { details: { textFields } });
  }
  return images;
}

function fromJson(body: unknown, config: Config): UploadedImage[] {
  const { images } = parseOr400(predictJsonSchema, body, 'body');
  if (images.length > config.MAX_FILES) throw tooMany(images.length, config.MAX_FILES);
  return images.map((s, index) => {
    const b64 = s.replace(DATA_URL, '').replace(/\s+/g, '');
    if (!BASE64.test(b64) || b64.length % 4 === 1) {
      throw new AppError('invalid_image', `images[${index}] is not valid base64`, { details: { index, field: `images.${index}` } });
    }
    const bytes = Buffer.from(b64, 'base64');
    checkSize(bytes, config.MAX_FILE_BYTES, index);
    return { bytes };
  });
}

/** A zero-byte image is a broken upload, not an unknown format: 400 invalid_image names it. */
function refuseEmpty(images: UploadedImage[]): UploadedImage[] {
  const index = images.findIndex((img) => img.bytes.length === 0);
  if (index >= 0) {
    const { filename } = images[index];
    throw new AppError('invalid_image', `empty image (image ${index}${filename ? `, "${filename}"` : ''} has 0 bytes)`,
      { details: { index, ...(filename ? { filename } : {}) } });
  }
  return images;
}

export async function collectImages(request: FastifyRequest, config: Config): Promise<UploadedImage[]> {
  return refuseEmpty(await collectAny(request, config));
}

async function collectAny(request: FastifyRequest, config: Config): Promise<UploadedImage[]> {
  if (request.isMultipart()) return fromMultipart(request, config);
  const type = (request.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (type === 'application/json') return fromJson(request.body, config);
  if (RAW_IMAGE_TYPES.includes(type) && Buffer.isBuffer(request.body)) {
    checkSize(request.body, config.MAX_FILE_BYTES, 0);
    return [{ bytes: request.body }];
  }
  throw new AppError('unsupported_media_type',
    'send multipart/form-data with image files, a raw image/png body, or application/json {"images": [base64...]}');
}
