import * as fs from 'fs';
import { fail } from '../core/errors';

/**
 * Random access to a byte range, read on demand: readers never pull a whole file
 * into the JS heap, so a 20 GB dump opens as fast as a 2 KB one.
 */
export interface ByteSource {
  readonly size: number;
  readonly label: string;
  readSync(offset: number, length: number): Buffer;
  read(offset: number, length: number): Promise<Buffer>;
  /** Reads into `into` (at its start) so a streaming caller can reuse one buffer for every chunk. */
  readInto?(into: Buffer, offset: number, length: number): Promise<Buffer>;
  /**
   * Where the bytes [offset, offset+length) lie as one run of an open file, for native code that reads
   * them itself; undefined when they do not (memory, inflated entries). The descriptor stays owned by the source.
   */
  fileRegion?(offset: number, length: number): FileRegion | undefined;
  /** Releases what the source holds (a file descriptor); views of another source own nothing. */
  close(): void;
}

export interface FileRegion {
  fd: number;
  offset: number;
}

/** Reads through one read-only file descriptor; never writes, renames or locks. */
export class FileSource implements ByteSource {
  private fd: number;
  readonly size: number;

  constructor(readonly label: string) {
    this.fd = fs.openSync(label, 'r');
    const st = fs.fstatSync(this.fd);
    if (!st.isFile()) {
      fs.closeSync(this.fd);
      fail('not-a-file', 'not a regular file', label);
    }
    this.size = st.size;
  }

  private check(offset: number, length: number): void {
    if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0 || offset + length > this.size) {
      fail('truncated', `read of ${length} bytes at offset ${offset} is past the end of the file (${this.size} bytes)`, this.label);
    }
  }

  readSync(offset: number, length: number): Buffer {
    this.check(offset, length);
    const buf = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, offset + done);
      if (n === 0) fail('truncated', 'file shrank while reading', this.label);
      done += n;
    }
    return buf;
  }

  read(offset: number, length: number): Promise<Buffer> {
    return this.readInto(Buffer.allocUnsafe(length), offset, length);
  }

  async readInto(into: Buffer, offset: number, length: number): Promise<Buffer> {
    this.check(offset, length);
    const buf = into.subarray(0, length);
    let done = 0;
    while (done < length) {
      const n = await new Promise<number>((resolve, reject) =>
        fs.read(this.fd, buf, done, length - done, offset + done, (err, bytes) => (err ? reject(err) : resolve(bytes))),
      );
      if (n === 0) fail('truncated', 'file shrank while reading', this.label);
      done += n;
    }
    return buf;
  }

  fileRegion(offset: number, length: number): FileRegion | undefined {
    this.check(offset, length);
    return this.fd >= 0 ? { fd: this.fd, offset } : undefined;
  }

  close(): void {
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
  }
}

/** A window [start, start+size) of another source: a stored zip entry, a legacy storage record. */
export class SliceSource implements ByteSource {
  constructor(
    private inner: ByteSource,
    private start: number,
    readonly size: number,
    readonly label: string,
  ) {
    if (start < 0 || size < 0 || start + size > inner.size) fail('truncated', `region of ${size} bytes at ${start} lies outside the file`, label);
  }
  private check(offset: number, length: number): void {
    if (offset < 0 || length < 0 || offset + length > this.size)
      fail('truncated', `read of ${length} bytes at ${offset} is past the end of ${this.label} (${this.size} bytes)`);
  }
  readSync(offset: number, length: number): Buffer {
    this.check(offset, length);
    return this.inner.readSync(this.start + offset, length);
  }
  read(offset: number, length: number): Promise<Buffer> {
    this.check(offset, length);
    return this.inner.read(this.start + offset, length);
  }
  readInto(into: Buffer, offset: number, length: number): Promise<Buffer> {
    this.check(offset, length);
    return this.inner.readInto ? this.inner.readInto(into, this.start + offset, length) : this.inner.read(this.start + offset, length);
  }
  fileRegion(offset: number, length: number): FileRegion | undefined {
    this.check(offset, length);
    return this.inner.fileRegion?.(this.start + offset, length);
  }
  close(): void {
    // A window owns nothing: the source it views is closed by whoever opened it.
  }
}

/** An in-memory source (inflated zip entries, npz members, tests). */
export class BufferSource implements ByteSource {
  constructor(
    private buf: Buffer,
    readonly label: string,
  ) {}
  get size(): number {
    return this.buf.length;
  }
  readSync(offset: number, length: number): Buffer {
    if (offset < 0 || length < 0 || offset + length > this.buf.length)
      fail('truncated', `read of ${length} bytes at ${offset} is past the end of ${this.label}`);
    return this.buf.subarray(offset, offset + length);
  }
  async read(offset: number, length: number): Promise<Buffer> {
    return this.readSync(offset, length);
  }
  close(): void {
    // Memory only: nothing to release.
  }
}
