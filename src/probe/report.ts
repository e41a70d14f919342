/** What the CLI and the web page both say about a probe report, in the same words. */
import { LIBRARIES, type Library } from './cases.js';
import type { ProbeReport } from './run.js';
import type { CaseResult } from './verdict.js';

/** The one-line summary: `OK: all 19 cases behaved as expected (3 skipped)` or `FAIL: …`. */
export function summaryLine(report: ProbeReport): string {
  const { total, failed, skipped } = report.summary;
  const ran = total - skipped;
  if (report.stoppedAtBaseline) {
    return 'STOPPED: the API refused a valid token, so no other case was run';
  }
  const head =
    failed === 0
      ? `OK: all ${ran} cases behaved as expected`
      : `FAIL: ${failed} of ${ran} cases did not behave as expected`;
  return `${head}${skipped > 0 ? ` (${skipped} skipped)` : ''}`;
}

/** `2xx (accept)`, `401,403 (refuse)`. */
export function expectedText(r: CaseResult): string {
  return `${r.expected} (${r.expect === 'accept' ? 'accept' : 'refuse'})`;
}

/** What the API answered: the status, `-` when skipped, `none` when it did not answer. */
export function gotText(r: CaseResult): string {
  if (r.got !== null) return String(r.got);
  return r.verdict === 'skipped' ? '-' : 'none';
}

/** The usual fixes of a failed case, in the order of LIBRARIES. */
export function fixesOf(r: CaseResult): [Library, string][] {
  return LIBRARIES.flatMap((lib) => {
    const text = r.fix?.[lib];
    return text ? [[lib, text] as [Library, string]] : [];
  });
}

/** The body snippet of an answer on one line, cut at `max` characters. */
export function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
