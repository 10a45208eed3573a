// Word count over a sliding window (Spark Streaming's NetworkWordCount + reduceByKeyAndWindow).
//   npx duckstream log create data/logs/lines --partitions 1 && echo 'to be or not to be' | npx duckstream log append --format text data/logs/lines
//   npx duckstream run jobs/wordcount.ts --trigger 1s
import { StreamingContext, seconds, sql } from 'duckstream';

export default function job(ssc: StreamingContext): void {
  const lines = ssc.logStream('data/logs/lines', { format: 'text' });
  const counts = lines
    .flatMap(sql`unnest(string_split(lower(value), ' ')) AS word`)
    .filter(sql`word <> ''`)
    .map(sql`word, 1 AS n`)
    .reduceByKey('word', sql`sum(n)`);
  // Every 10 s, the counts of the last 30 s; with the inverse function each slide adds the new batches and
  // subtracts the expired ones; the filter drops words whose count fell to 0.
  const windowed = counts.reduceByKeyAndWindow('word', sql`sum(n)`, seconds(30), seconds(10), { inverse: sql`a - b`, filter: sql`n > 0` });
  windowed.print(20);
  windowed.saveAsParquet('out/word_counts_30s');
}
