// Says what is wrong with a PNG that a decoder refused, in words a client can act on (libpng
// and libspng report only "read error" or "Unknown error"). Walks the chunk list: signature,
// lengths, CRCs, IEND. Cheap: one CRC pass over bytes already in memory, only on failure.
import { crc32 } from 'node:zlib';

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The first structural fault in `bytes` (a PNG by its signature), or undefined if none is found. */
export function describePngDamage(bytes: Uint8Array): string | undefined {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length < 8 || !buf.subarray(0, 8).equals(SIGNATURE)) return 'not a valid PNG signature';
  let at = 8;
  while (at < buf.length) {
    if (at + 8 > buf.length) return `truncated at byte ${at} (an incomplete chunk header)`;
    const length = buf.readUInt32BE(at);
    const type = buf.toString('latin1', at + 4, at + 8);
    const printable = /^[A-Za-z]{4}$/.test(type) ? type : JSON.stringify(type);
    if (at + 12 + length > buf.length) {
      return `truncated: chunk ${printable} at byte ${at} declares ${length} data bytes, only ${Math.max(0, buf.length - at - 12)} follow`;
    }
    const stored = buf.readUInt32BE(at + 8 + length);
    if (crc32(buf.subarray(at + 4, at + 8 + length)) !== stored) {
      return `corrupt: the CRC of chunk ${printable} at byte ${at} does not match its data`;
    }
    if (type === 'IEND') return undefined;
    at += 12 + length;
  }
  return 'truncated: the file ends before the IEND chunk';
}
