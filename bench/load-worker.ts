/**
 * The load generator process (pinned to its own core by the harness, so measuring does not
 * compete with the target): runs one job per IPC message and answers with its result.
 */
import autocannon from 'autocannon';
import { runFlows } from './flow.js';
import type { HttpLoadResult, LoadJob, LoadReply } from './load.js';

async function runHttp(job: Extract<LoadJob, { type: 'http' }>): Promise<HttpLoadResult> {
  const bodies: string[] = [];
  const result = await autocannon({
    url: job.url,
    connections: job.connections,
    duration: job.durationSec,
    timeout: 10,
    requests: [
      {
        method: job.method,
        ...(job.headers ? { headers: job.headers } : {}),
        ...(job.body !== undefined ? { body: job.body } : {}),
        ...(job.collect > 0
          ? {
              onResponse: (status: number, body: string) => {
                if (status === 200 && bodies.length < job.collect) bodies.push(body);
              },
            }
          : {}),
      },
    ],
  });
  const statusCodes: Record<string, number> = {};
  for (const [code, { count }] of Object.entries(result.statusCodeStats)) statusCodes[code] = count;
  const total = Object.values(statusCodes).reduce((a, b) => a + b, 0);
  return {
    rps: total / result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    mean: result.latency.mean,
    total,
    errors: result.errors,
    timeouts: result.timeouts,
    statusCodes,
    bodies,
  };
}

process.on('message', async (message: { id: number; job: LoadJob }) => {
  let reply: LoadReply;
  try {
    const { job } = message;
    const result =
      job.type === 'http'
        ? await runHttp(job)
        : await runFlows(job.spec, { concurrency: job.concurrency, durationMs: job.durationMs });
    reply = { id: message.id, result };
  } catch (err) {
    reply = { id: message.id, error: (err as Error).stack ?? String(err) };
  }
  process.send?.(reply);
});
process.send?.({ id: 0, ready: true });
