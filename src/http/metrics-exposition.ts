/**
 * What `/metrics` loads on its first read (see metrics.ts): prom-client, with the process
 * metrics it collects from then on, rendering the issuer's own metrics as they are at each read.
 */
import { collectDefaultMetrics, type Metric, Registry } from 'prom-client';
import type { MetricSource, RenderedMetrics } from './metrics.js';

/** A registry over `sources` and the process metrics; each call renders it anew. */
export function exposition(sources: readonly MetricSource[]): () => Promise<RenderedMetrics> {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry, prefix: 'oidc_issuer_' });
  // `sources` is read when rendering, so sources added later (watchMemoryStore) are seen.
  let registered = 0;
  return async () => {
    for (; registered < sources.length; registered += 1) {
      registry.registerMetric(promMetric(sources[registered] as MetricSource));
    }
    return { contentType: registry.contentType, text: await registry.metrics() };
  };
}

/**
 * A source as a prom-client metric. The registry reads only a metric's name and what `get()`
 * returns; its types list just its own classes, whose values must be set one label set at a
 * time — not the buckets of a histogram counted elsewhere.
 */
function promMetric(source: MetricSource): Metric {
  const { name, help, type } = source;
  const metric = {
    name,
    help,
    type,
    get: async () => ({ name, help, type, aggregator: 'sum', values: source.samples() }),
  };
  return metric as unknown as Metric;
}
