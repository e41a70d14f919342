/** The rotation drill: rotates the issuer's real key ring and checks the API follows it. */
import type { MintRequest } from '../tools/mint.js';
import { CASES, type ProbeCase, type TokenKit } from './cases.js';
import type { IssuerAccess, ProbeOptions, StatusSet } from './options.js';
import type { Answer } from './target.js';
import { type CaseResult, judge, row } from './verdict.js';

/**
 * The rotation drill: a token signed by the active key is kept; the key ring is rotated twice
 * at once, so the key that signs afterwards was created during the drill and the API cannot
 * have it cached; the API must accept a token signed by it (refetching its key set on the
 * unknown kid, within `rotationWaitMs` of cooldown) and still accept the kept token.
 */
export async function rotationDrill(
  issuer: IssuerAccess,
  kit: TokenKit,
  base: MintRequest,
  kidsAtStart: Set<string | undefined>,
  send: (token: string) => Promise<Answer>,
  accept: StatusSet,
  options: ProbeOptions,
): Promise<CaseResult[]> {
  const [newKeyCase, retiringCase] = ['rotation-new-key', 'rotation-retiring-key'].map(
    (id) => CASES.find((c) => c.id === id) as ProbeCase,
  ) as [ProbeCase, ProbeCase];
  const alg = String(kit.valid.header.alg);
  const kept = await issuer.mint(base);
  options.onNotice?.(
    `rotation drill: rotating the issuer's ${alg} keys twice, now (keys rotate --now): the active key ${kept.header.kid} starts retiring; tokens it signed stay valid until they expire`,
  );
  await issuer.rotateNow(alg);
  await issuer.rotateNow(alg);

  // Another instance behind a load balancer may take a moment to sign with the new key.
  let fresh = await issuer.mint(base);
  for (let i = 0; i < 20 && kidsAtStart.has(fresh.header.kid); i += 1) {
    await sleep(250);
    fresh = await issuer.mint(base);
  }
  const results: CaseResult[] = [];
  if (kidsAtStart.has(fresh.header.kid)) {
    results.push(
      row(
        newKeyCase,
        accept,
        null,
        'fail',
        `the issuer still signs with ${fresh.header.kid} after rotating`,
      ),
    );
  } else {
    const waitMs = options.rotationWaitMs ?? 65_000;
    const started = Date.now();
    let answer = await send(fresh.token);
    while (
      !(answer.status !== null && accept.has(answer.status)) &&
      Date.now() - started < waitMs
    ) {
      await sleep(1000);
      answer = await send(fresh.token);
    }
    const seconds = ((Date.now() - started) / 1000).toFixed(1);
    const result = judge(newKeyCase, accept, answer, accept);
    result.note =
      result.verdict === 'pass'
        ? `key ${fresh.header.kid} accepted ${Number(seconds) < 1 ? 'at once' : `after ${seconds} s`}`
        : `key ${fresh.header.kid} still refused after ${seconds} s${result.note ? `; ${result.note}` : ''}`;
    results.push(result);
  }
  results.push(judge(retiringCase, accept, await send(kept.token), accept));
  const last = results.at(-1) as CaseResult;
  if (last.verdict === 'pass') last.note = `key ${kept.header.kid} (retiring) accepted`;
  return results;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
