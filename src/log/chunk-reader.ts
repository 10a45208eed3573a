import { closeSync, fstatSync, openSync, readSync } from 'node:fs';

const FIRST_CHUNK = 64 * 1024;
/**
 * A reader makes three passes over each chunk: the kernel's copy into it, the JS pass over the record headers,
 * the native CRC over the whole chunk. A chunk that stays in the CPU's caches between them is read from memory
 * once, not three times. 1 MiB chunks fit a core's L2 cache on the machines we measured (bench/RESULTS.md: 1 MiB
 * against 16 MiB chunks; 256 KiB–2 MiB did about as well), and the extra system calls cost nothing measurable.
 */
const MAX_CHUNK = 1024 * 1024;

/**
 * Reads a segment file forward in chunks that grow from 64 KiB to 1 MiB, so short reads stay cheap and long
 * scans stay in cache (see MAX_CHUNK). Each chunk is a fresh buffer: views handed out into an old chunk
 * stay valid. `size` is the file size when the reader was opened; bytes appended later are not seen.
 */
export class ChunkReader {
  readonly size: number;
  /** The current chunk and the file position of its first byte. */
  buf: Buffer = Buffer.alloc(0);
  bufPos = 0;
  private readonly fd: number;
  private nextChunk = FIRST_CHUNK;

  constructor(readonly file: string) {
    this.fd = openSync(file, 'r');
    try {
      this.size = fstatSync(this.fd).size;
    } catch (err) {
      closeSync(this.fd);
      throw err;
    }
  }

  /** Offset in `buf` where the file bytes end (≤ buf.length). */
  get limit(): number {
    return this.buf.length;
  }

  /**
   * Load a chunk starting at file position `pos` holding at least `need` bytes when the file has them.
   * Returns false when `pos` is at or past the end of the file.
   */
  load(pos: number, need: number): boolean {
    const available = this.size - pos;
    if (available <= 0) return false;
    const want = Math.min(available, Math.max(need, this.nextChunk));
    this.nextChunk = Math.min(MAX_CHUNK, this.nextChunk * 2);
    const buf = Buffer.allocUnsafeSlow(want);
    let got = 0;
    while (got < want) {
      const n = readSync(this.fd, buf, got, want - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    this.buf = got === want ? buf : buf.subarray(0, got);
    this.bufPos = pos;
    return got > 0;
  }

  /** Read `length` bytes at `pos` into a new small buffer (fewer if the file ends first). */
  readAt(pos: number, length: number): Buffer {
    const buf = Buffer.allocUnsafe(Math.max(0, Math.min(length, this.size - pos)));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(this.fd, buf, got, buf.length - got, pos + got);
      if (n === 0) break;
      got += n;
    }
    return buf.subarray(0, got);
  }

  close(): void {
    closeSync(this.fd);
  }
}
