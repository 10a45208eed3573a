import { StagedFileSink } from '../../sink/staged-file-sink.js';

/**
 * Newline-delimited JSON, one file per batch: `<path>/part-<batchId padded to 10>.jsonl`, plus
 * `<path>/_manifest/<batchId>.json`. Written by DuckDB `COPY … (FORMAT JSON)` (one object per line), staged and
 * renamed in like Parquet, so exactly-once by batch id. Read with `read_json_auto('<path>/*.jsonl')`.
 */
export class JsonlSink extends StagedFileSink {
  protected readonly extension = 'jsonl';

  protected copyOptions(): string {
    return 'FORMAT JSON';
  }
}
