import { z } from 'zod';
import { positiveInt } from '../../util/whole-number.js';
import { sinkFactory, type Connector } from '../connector.js';
import { ConsoleSink } from './console-sink.js';

/** `connector = 'console'`: each batch printed as Spark's console sink does (at-least-once; for debugging and demos). */
export const consoleConnector: Connector = {
  name: 'console',
  sink: sinkFactory({
    options: z.strictObject({ max_rows: positiveInt.optional() }),
    hints: {},
    create: (name, o, ctx) => new ConsoleSink(name, { maxRows: o.max_rows, out: ctx.stdout }),
  }),
};
