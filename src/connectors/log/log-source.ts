import { DecodingSource, type DecodingOptions } from '../../format/decoding-source.js';
import { LogRawSource } from '../../log/log-raw-source.js';

export interface LogSourceOptions extends Omit<DecodingOptions, 'trailingColumn'> {
  readonly startingPosition: 'earliest' | 'latest';
}

/** The embedded log as a job's source: its raw records (LogRawSource) decoded by the format layer. */
export class LogSource extends DecodingSource<LogRawSource> {
  static async open(name: string, path: string, options: LogSourceOptions): Promise<LogSource> {
    return new LogSource(name, await LogRawSource.open(path, options.startingPosition), options);
  }
}
