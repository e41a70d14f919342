/** The CSRF token of the interaction forms: an HMAC of the interaction's uid. */
import { createHmac, timingSafeEqual } from 'node:crypto';
import { PageError } from '../errors.js';

/**
 * `csrfFor(uid)` is the token a form of interaction `uid` carries; `checkCsrf(uid, value)`
 * throws PageError `INTERACTION_FORM_STALE` unless `value` is it. `secret` is read on each use
 * (the newest cookie key).
 */
export function interactionCsrf(secret: () => string): {
  csrfFor: (uid: string) => string;
  checkCsrf: (uid: string, value: unknown) => void;
} {
  const csrfFor = (uid: string) =>
    createHmac('sha256', secret()).update(`interaction:${uid}`).digest('base64url');
  const checkCsrf = (uid: string, value: unknown) => {
    const expected = Buffer.from(csrfFor(uid));
    const given = Buffer.from(typeof value === 'string' ? value : '');
    if (expected.length !== given.length || !timingSafeEqual(expected, given)) {
      throw new PageError(
        'INTERACTION_FORM_STALE',
        'the form is stale or was not sent from this page; start the sign-in again',
      );
    }
  };
  return { csrfFor, checkCsrf };
}
