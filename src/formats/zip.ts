import * as zlib from 'zlib';
import { ByteSource, SliceSource, BufferSource } from './source';
import { fail } from '../core/errors';

export interface ZipEntry {
  name: string;
  method: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export interface ZipLimits {
  /** Largest inflated size of one deflated entry; bigger is refused as a zip bomb. */
  maxInflatedBytes: number;
  maxEntries: number;
}

export const DEFAULT_ZIP_LIMITS: ZipLimits = { maxInflatedBytes: 1 << 30, maxEntries: 1 << 20 };

const SIG_EOCD = 0x06054b50,
  SIG_Z64_LOCATOR = 0x07064b50,
  SIG_Z64_EOCD = 0x06064b50;
const SIG_CENTRAL = 0x02014b50,
  SIG_LOCAL = 0x04034b50;
const U32_MAX = 0xffffffff,
  U16_MAX = 0xffff;

export const looksLikeZip = (src: ByteSource): boolean => src.size >= 4 && src.readSync(0, 4).readUInt32LE(0) === SIG_LOCAL;

function u64(buf: Buffer, off: number, where: string): number {
  const v = buf.readBigUInt64LE(off);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail('invalid-zip', `ZIP64 field ${v} is larger than any real file`, where);
  return Number(v);
}

/**
 * Central-directory ZIP reader (stored and deflated entries, ZIP64). It only ever reads the
 * directory at open time; entry data is exposed as a lazy byte source.
 */
export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();

  constructor(
    private src: ByteSource,
    private limits: ZipLimits = DEFAULT_ZIP_LIMITS,
  ) {
    const where = src.label;
    const tailLen = Math.min(src.size, 22 + U16_MAX);
    if (tailLen < 22) fail('invalid-zip', 'file is too short to be a ZIP archive', where);
    const tail = src.readSync(src.size - tailLen, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === SIG_EOCD && i + 22 + tail.readUInt16LE(i + 20) <= tail.length) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) fail('truncated', 'ZIP end-of-central-directory record not found: the archive is truncated or corrupt', where);
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    const eocdAbs = src.size - tailLen + eocd;
    if (count === U16_MAX || cdSize === U32_MAX || cdOffset === U32_MAX) {
      if (eocdAbs < 20) fail('invalid-zip', 'ZIP64 locator missing', where);
      const loc = src.readSync(eocdAbs - 20, 20);
      if (loc.readUInt32LE(0) !== SIG_Z64_LOCATOR) fail('invalid-zip', 'ZIP64 end-of-central-directory locator missing', where);
      const z64 = u64(loc, 8, where);
      if (z64 + 56 > src.size) fail('truncated', `ZIP64 end record offset ${z64} is past the end of the file`, where);
      const rec = src.readSync(z64, 56);
      if (rec.readUInt32LE(0) !== SIG_Z64_EOCD) fail('invalid-zip', 'ZIP64 end-of-central-directory record corrupt', where);
      count = u64(rec, 32, where);
      cdSize = u64(rec, 40, where);
      cdOffset = u64(rec, 48, where);
    }
    if (count > limits.maxEntries) fail('invalid-zip', `ZIP declares ${count} entries (limit ${limits.maxEntries})`, where);
    if (cdOffset + cdSize > src.size)
      fail('truncated', `ZIP central directory (offset ${cdOffset}, ${cdSize} bytes) lies past the end of the file (${src.size} bytes)`, where);
    const cd = src.readSync(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== SIG_CENTRAL)
        fail('invalid-zip', `ZIP central directory entry ${i} is corrupt`, `${where}: central directory +${p}`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28),
        extraLen = cd.readUInt16LE(p + 30),
        commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) fail('invalid-zip', `ZIP central directory entry ${i} runs past the directory`, where);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // ZIP64 extra field: only the fields saturated in the fixed header are present, in this order.
      let e = p + 46 + nameLen;
      const eEnd = e + extraLen;
      while (e + 4 <= eEnd) {
        const id = cd.readUInt16LE(e),
          len = cd.readUInt16LE(e + 2);
        if (e + 4 + len > eEnd) fail('invalid-zip', `ZIP extra field of ${name} is corrupt`, where);
        if (id === 1) {
          let f = e + 4;
          const take = (): number => {
            if (f + 8 > e + 4 + len) fail('invalid-zip', `ZIP64 extra field of ${name} is too short`, where);
            const v = u64(cd, f, `${where}: ${name}`);
            f += 8;
            return v;
          };
          if (size === U32_MAX) size = take();
          if (compressedSize === U32_MAX) compressedSize = take();
          if (localHeaderOffset === U32_MAX) localHeaderOffset = take();
        }
        e += 4 + len;
      }
      if (flags & 1) fail('invalid-zip', `ZIP entry ${name} is encrypted`, where);
      if (method !== 0 && method !== 8) fail('unsupported', `ZIP entry ${name} uses unsupported compression method ${method}`, where);
      if (method === 0 && size !== compressedSize) fail('invalid-zip', `stored ZIP entry ${name} declares ${size} bytes but holds ${compressedSize}`, where);
      if (localHeaderOffset + 30 > src.size || localHeaderOffset + compressedSize > src.size) {
        fail('truncated', `ZIP entry ${name} (offset ${localHeaderOffset}, ${compressedSize} bytes) lies past the end of the file`, where);
      }
      if (this.entries.has(name)) fail('invalid-zip', `ZIP archive holds two entries named ${name}`, where);
      this.entries.set(name, { name, method, compressedSize, size, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Byte source for an entry's uncompressed data: a lazy window for stored entries, inflated (capped) otherwise. */
  open(name: string): ByteSource {
    const entry = this.entries.get(name);
    if (!entry) fail('tensor-not-found', `ZIP entry ${name} not found`, this.src.label);
    const label = `${this.src.label}: ${name}`;
    const local = this.src.readSync(entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== SIG_LOCAL) fail('invalid-zip', `local header of ZIP entry ${name} is corrupt`, label);
    const dataStart = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (dataStart + entry.compressedSize > this.src.size) fail('truncated', `data of ZIP entry ${name} runs past the end of the file`, label);
    if (entry.method === 0) return new SliceSource(this.src, dataStart, entry.size, label);
    if (entry.size > this.limits.maxInflatedBytes) {
      fail('invalid-zip', `deflated ZIP entry ${name} declares ${entry.size} bytes, over the ${this.limits.maxInflatedBytes}-byte limit (zip bomb?)`, label);
    }
    let inflated: Buffer;
    try {
      inflated = zlib.inflateRawSync(this.src.readSync(dataStart, entry.compressedSize), { maxOutputLength: Math.max(1, entry.size) });
    } catch (err) {
      const msg = (err as Error).message;
      if (/maxOutputLength|Cannot create a Buffer larger/.test(msg) || (err as { code?: string }).code === 'ERR_BUFFER_TOO_LARGE') {
        fail('invalid-zip', `deflated ZIP entry ${name} inflates past its declared ${entry.size} bytes (zip bomb?)`, label);
      }
      fail('invalid-zip', `deflated ZIP entry ${name} is corrupt: ${msg}`, label);
    }
    if (inflated.length !== entry.size) fail('invalid-zip', `ZIP entry ${name} inflates to ${inflated.length} bytes, not the declared ${entry.size}`, label);
    return new BufferSource(inflated, label);
  }
}
