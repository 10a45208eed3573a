import { declaredSchema, timestampColumns } from '../../format/declared-schema.js';
import { userError } from '../../errors.js';
import type { SourceDef } from '../../job/parse-job.js';
import { HEADERS_COLUMN, SUBJECT_COLUMN } from '../../source/metadata-columns.js';
import type { Source } from '../../source/source.js';
import { sourceFactory } from '../connector.js';
import { connectNats } from './client.js';
import { NatsSource } from './nats-source.js';
import { natsSourceOptions, type NatsSourceOptions } from './options.js';

/** `CREATE SOURCE name WITH (connector = 'nats', …)` as the registry knows it: options, then a NatsSource. */
export const natsSourceFactory = sourceFactory({
  options: natsSourceOptions,
  hints: { stream: "'<JetStream stream name>'" },
  create: openNatsSource,
});

async function openNatsSource(def: SourceDef, o: NatsSourceOptions): Promise<Source> {
  const schema = declaredSchema(def.name, o.format, def.columns ?? o.schema);
  const taken = schema?.find((c) => c.name === SUBJECT_COLUMN || c.name === HEADERS_COLUMN);
  if (taken) throw userError(`source '${def.name}': '${taken.name}' is a metadata column of NATS sources`, 'rename the value column');
  const subjects = o.subjects === undefined ? undefined : subjectList(def.name, o.subjects);
  const nc = await connectNats(`source '${def.name}'`, o);
  return new NatsSource(def.name, nc, {
    stream: o.stream,
    subjects,
    startingPosition: o.starting_offsets,
    failOnDataLoss: o.fail_on_data_loss,
    caps: {
      ...(o.max_records_per_partition !== undefined && { maxRecordsPerPartition: o.max_records_per_partition }),
      ...(o.max_records_per_batch !== undefined && { maxRecordsPerBatch: o.max_records_per_batch }),
    },
    durableName: o.durable_name,
    retry: { retries: o.retries, initialMs: o.retry_backoff_ms, maxMs: 5000 },
    readTimeoutMs: o.read_timeout_ms,
    requestTimeoutMs: o.request_timeout_ms,
    format: o.format,
    schema,
    maxValueBytes: o.max_value_bytes,
    timestampColumns: timestampColumns(o.event_time),
  });
}

/** `subjects = 'orders.0.>, orders.1.>'`: one partition per filter, numbered in this order (keep it: the checkpoint names them). */
function subjectList(name: string, text: string): string[] {
  const subjects = text
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const bad = subjects.find((s) => {
    const tokens = s.split('.');
    return /\s/.test(s) || tokens.some((t, i) => t === '' || (t.includes('>') && (t !== '>' || i < tokens.length - 1)) || (t.includes('*') && t !== '*'));
  });
  if (bad !== undefined || subjects.length === 0)
    throw userError(
      `source '${name}': subjects: '${bad ?? text}' is not a subject filter`,
      "subjects = 'orders.0.>,orders.1.>' (tokens separated by '.', wildcards '*' and '>')",
    );
  if (new Set(subjects).size !== subjects.length) throw userError(`source '${name}': subjects lists a filter twice`, 'give each partition its own filter');
  return subjects;
}
