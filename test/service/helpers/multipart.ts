// Hand-built multipart/form-data bodies (so tests control every byte, malformed ones included).
export interface FormPart { name: string; filename?: string; contentType?: string; data: Buffer | string }

export function multipartBody(parts: FormPart[], boundary = `----onnxdigits${Math.random().toString(16).slice(2)}`) {
  const chunks: Buffer[] = [];
  for (const p of parts) {
    let head = `--${boundary}\r\nContent-Disposition: form-data; name="${p.name}"`;
    if (p.filename !== undefined) head += `; filename="${p.filename}"`;
    head += '\r\n';
    if (p.contentType) head += `Content-Type: ${p.contentType}\r\n`;
    chunks.push(Buffer.from(`${head}\r\n`), Buffer.isBuffer(p.data) ? p.data : Buffer.from(p.data), Buffer.from('\r\n'));
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`));
  return { body: Buffer.concat(chunks), contentType: `multipart/form-data; boundary=${boundary}` };
}

export function imageParts(images: Buffer[], field = 'image'): FormPart[] {
  return images.map((data, i) => ({ name: field, filename: `digit-${i}.png`, contentType: 'image/png', data }));
}
