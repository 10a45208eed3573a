import { userError } from '../errors.js';
import type { SourceDef } from '../job/parse-job.js';
import type { Sink } from '../sink/sink.js';
import type { Source } from '../source/source.js';
import { closestMatch } from '../util/suggest.js';
import { amqpConnector } from './amqp/connector.js';
import type { Connector, ConnectorContext } from './connector.js';
import { consoleConnector } from './console/connector.js';
import { duckdbConnector } from './duckdb/connector.js';
import { jsonlConnector } from './jsonl/connector.js';
import { kafkaConnector } from './kafka/connector.js';
import { logConnector } from './log/connector.js';
import { natsConnector } from './nats/connector.js';
import { mqttConnector } from './mqtt/connector.js';
import { parseConnectorOptions } from './options-error.js';
import { parquetConnector } from './parquet/connector.js';
import { postgresConnector } from './postgres/connector.js';

export type { ConnectorContext } from './connector.js';

/**
 * Every connector, by the name a job gives in `WITH (connector = '…')` (Arroyo's one map): job compilation (SQL and
 * DStream jobs) and the CLI read this list and nothing else. A new connector is a folder under src/connectors/ and
 * one line here.
 */
export const CONNECTORS: readonly Connector[] = [
  logConnector,
  parquetConnector,
  jsonlConnector,
  duckdbConnector,
  consoleConnector,
  kafkaConnector,
  natsConnector,
  postgresConnector,
  mqttConnector,
  amqpConnector,
];

/** Connectors a CREATE SOURCE can name, in registry order. */
export const sourceConnectors: readonly string[] = CONNECTORS.filter((c) => c.source).map((c) => c.name);
/** Connectors a CREATE SINK can name, in registry order. */
export const sinkConnectors: readonly string[] = CONNECTORS.filter((c) => c.sink).map((c) => c.name);

/** The source a job declares as `CREATE SOURCE name WITH (…)`; `connector` defaults to 'log'. */
export async function createSource(def: SourceDef, ctx: ConnectorContext = {}): Promise<Source> {
  const { connector: name = 'log', ...given } = def.options;
  const factory = find(name)?.source;
  if (!factory) throw unknownConnector('source', def.name, name, sourceConnectors);
  return factory.create(def, parseConnectorOptions('source', def.name, name, factory, given), ctx);
}

/**
 * The sink a job declares as `CREATE SINK name WITH (connector = '…', …)`: options validated up front, with messages
 * that say how to fix them, e.g. "sink 'errors': connector 'parquet' needs path = '<dir>'".
 */
export function createSink(name: string, options: Readonly<Record<string, string>>, ctx: ConnectorContext = {}): Sink {
  const { connector: connectorName, ...given } = options;
  if (connectorName === undefined) {
    throw userError(`sink '${name}' needs connector = <one of ${quoted(sinkConnectors)}>`, `add connector = '<name>' to its WITH (…) options`);
  }
  const factory = find(connectorName)?.sink;
  if (!factory) throw unknownConnector('sink', name, connectorName, sinkConnectors);
  return factory.create(name, parseConnectorOptions('sink', name, connectorName, factory, given), ctx);
}

function find(name: string): Connector | undefined {
  return CONNECTORS.find((c) => c.name === name);
}

function unknownConnector(kind: 'source' | 'sink', name: string, connector: string, known: readonly string[]): Error {
  const guess = closestMatch(connector, known);
  return userError(`${kind} '${name}': unknown connector '${connector}'`, `use one of ${quoted(known)}${guess ? ` (did you mean '${guess}'?)` : ''}`);
}

function quoted(names: readonly string[]): string {
  return names.map((c) => `'${c}'`).join(', ');
}
