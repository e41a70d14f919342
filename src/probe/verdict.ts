/** Judging one answer of the API against what a correct verifier must do: one report row. */
import type { Expectation, ProbeCase } from './cases.js';
import type { StatusSet } from './options.js';
import type { Answer } from './target.js';

export type Verdict = 'pass' | 'fail' | 'skipped';

/** One row of the report. */
export interface CaseResult {
  id: string;
  title: string;
  expect: Expectation;
  /** The statuses that would have been right, e.g. `2xx`, `401,403`, `403`. */
  expected: string;
  /** The API's status, or null when it did not answer (see `error`). */
  got: number | null;
  verdict: Verdict;
  /** Why it failed or was skipped, what was observed (e.g. "accepted after 4 s"). */
  note?: string;
  /** The API's WWW-Authenticate header and the start of its body, for failed cases. */
  response?: { wwwAuthenticate?: string; body?: string };
  /** On failure: the consequence and the usual fixes (from cases.ts). */
  consequence?: string;
  fix?: ProbeCase['fix'];
}

/** The row for `c` given the API's `answer` (`fetchedUrl`: a token-named URL the API fetched). */
export function judge(
  c: ProbeCase,
  expected: StatusSet,
  answer: Answer,
  refuse: StatusSet,
  fetchedUrl?: string,
): CaseResult {
  if (answer.status === null) {
    return row(c, expected, null, 'fail', answer.error, answer);
  }
  if (fetchedUrl) {
    return row(
      c,
      expected,
      answer.status,
      'fail',
      `the API fetched ${fetchedUrl}, a URL named in the token`,
      answer,
    );
  }
  if (expected.has(answer.status)) return row(c, expected, answer.status, 'pass');
  let note: string;
  if (answer.status >= 500) note = 'a server error: a bad token should get 401, not a crash';
  else if (c.expect === 'accept') note = 'refused';
  else if (c.expect === 'forbidden' && refuse.has(answer.status))
    note = `refused with ${answer.status}; insufficient scope is 403 (RFC 6750 §3.1)`;
  else note = 'accepted';
  return row(c, expected, answer.status, 'fail', note, answer);
}

/** One report row. */
export function row(
  c: ProbeCase,
  expected: StatusSet,
  got: number | null,
  verdict: Verdict,
  note?: string,
  answer?: Answer,
): CaseResult {
  return {
    id: c.id,
    title: c.title,
    expect: c.expect,
    expected: expected.text,
    got,
    verdict,
    ...(note ? { note } : {}),
    ...(verdict === 'fail' && answer && (answer.wwwAuthenticate || answer.body)
      ? {
          response: {
            ...(answer.wwwAuthenticate ? { wwwAuthenticate: answer.wwwAuthenticate } : {}),
            ...(answer.body ? { body: answer.body } : {}),
          },
        }
      : {}),
    ...(verdict === 'fail' ? { consequence: c.consequence, fix: c.fix } : {}),
  };
}
