/**
 * The one username rule, applied wherever a username enters: the login form, the user picker,
 * "any user" sign-in, headless `login_hint`, and configured users.
 */

const MAX_USERNAME_LENGTH = 256;

/**
 * Control characters (newlines, tabs, NUL…), line and paragraph separators, and bidirectional
 * overrides, which would forge log lines or make one name display as another.
 */
const FORBIDDEN = /[\p{Cc}\u2028\u2029\u202a-\u202e\u2066-\u2069]/u;

/** A username as entered: the trimmed name, or why it is not one (a sentence fragment). */
export type UsernameCheck = { username: string } | { problem: string };

/**
 * Trims `raw` and checks it: a string, not empty, at most {@link MAX_USERNAME_LENGTH}
 * characters, no control characters.
 */
export function checkUsername(raw: unknown): UsernameCheck {
  const username = typeof raw === 'string' ? raw.trim() : '';
  if (username === '') return { problem: 'a username is required' };
  if (username.length > MAX_USERNAME_LENGTH) {
    return { problem: `a username is at most ${MAX_USERNAME_LENGTH} characters` };
  }
  if (FORBIDDEN.test(username)) {
    return { problem: 'a username cannot contain control characters or line breaks' };
  }
  return { username };
}
