import { createRequire } from 'node:module';
import kafkajs from 'kafkajs';
import * as zstd from 'zstd-napi';

const require = createRequire(import.meta.url);
// kafkajs is CommonJS and Node's ESM loader cannot see CompressionCodecs as a named export (vitest can, so only the built CLI broke).
const { CompressionCodecs, CompressionTypes } = kafkajs;

type Codec = () => { compress(encoder: { buffer: Buffer }): Promise<Buffer>; decompress(buffer: Buffer): Promise<Buffer> };

/**
 * zstd for kafkajs (docs/architecture.md#dependency-pins: `@kafkajs/zstd` does not build on Node 20). Kafka's zstd batches are plain zstd
 * frames; zstd-napi falls back to streaming for frames that do not state their decompressed size.
 */
const zstdCodec: Codec = () => ({
  async compress(encoder) {
    return zstd.compress(encoder.buffer);
  },
  async decompress(buffer) {
    return zstd.decompress(buffer);
  },
});

let registered = false;

/** Register snappy, lz4 and zstd with kafkajs (gzip is built in). Idempotent; call before any client reads or writes. */
export function registerCodecs(): void {
  if (registered) return;
  registered = true;
  const codecs = CompressionCodecs as unknown as Record<number, Codec>;
  codecs[CompressionTypes.Snappy] = require('kafkajs-snappy') as Codec;
  const LZ4Codec = require('kafkajs-lz4') as new () => { codec: Codec };
  codecs[CompressionTypes.LZ4] = new LZ4Codec().codec;
  codecs[CompressionTypes.ZSTD] = zstdCodec;
}
