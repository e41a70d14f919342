import { timingSafeEqual } from 'node:crypto';
import type { Account, AccountClaims, Adapter, KoaContextWithOIDC } from 'oidc-provider';
import type { UserConfig } from '../config/schema.js';
import { checkUsername } from '../config/username.js';

/** A signed-in identity: a configured test user, or an ad-hoc one from "any user" mode. */
export interface Identity {
  sub: string;
  claims: Record<string, unknown>;
}

/** Claims a token's issuer sets itself; an account's claims never replace them. */
const RESERVED_CLAIMS = new Set([
  'iss',
  'sub',
  'aud',
  'exp',
  'nbf',
  'iat',
  'jti',
  'client_id',
  'scope',
  'cnf',
  'azp',
  'auth_time',
  'acr',
  'amr',
  'sid',
  'nonce',
  'typ',
  'at_hash',
  'c_hash',
  'preferred_username',
]);

/** Ad-hoc identities are kept as long as a session can live, in the same store as sessions. */
export const DYNAMIC_ACCOUNT_MODEL = 'DynamicAccount';

/** What `Accounts` is built from. */
export interface AccountsOptions {
  users: readonly (UserConfig & { sub: string })[];
  /** Client ids: the `sub` of client_credentials tokens, so no any-user account may take one. */
  clientIds: readonly string[];
  /** The adapter of `DYNAMIC_ACCOUNT_MODEL`. */
  dynamic: Adapter;
  dynamicTtlSeconds: number;
  /**
   * Every claim name some scope releases (config `scopes`); the others go into access tokens
   * (see `unscopedClaims`).
   */
  scopedClaims?: ReadonlySet<string>;
}

/** An any-user sign-in: the new identity, or why the name was refused. */
export type DynamicResult = { identity: Identity } | { refused: string };

/**
 * How names are compared for collisions: case and Unicode compatibility forms folded, so
 * `Alice` or a full-width `ａｌｉｃｅ` cannot pose as `alice` in a log or an admin screen.
 */
const collisionKey = (name: string) => name.normalize('NFKC').toLowerCase();

/**
 * The account source oidc-provider asks for claims (`findAccount`), and the login checks of the
 * interaction pages. Configured users are kept in memory; identities created in "any user" mode
 * are written through the adapter so every instance can resolve them.
 */
export class Accounts {
  readonly #byUsername: Map<string, UserConfig & { sub: string }>;
  readonly #bySub: Map<string, UserConfig & { sub: string }>;
  /** Collision keys of every configured username, configured sub and client id. */
  readonly #taken: ReadonlySet<string>;
  readonly #dynamic: Adapter;
  readonly #dynamicTtlSeconds: number;
  readonly #scopedClaims: ReadonlySet<string>;

  constructor(options: AccountsOptions) {
    const { users } = options;
    this.#byUsername = new Map(users.map((u) => [u.username, u]));
    this.#bySub = new Map(users.map((u) => [u.sub, u]));
    this.#taken = new Set(
      [...users.flatMap((u) => [u.username, u.sub]), ...options.clientIds].map(collisionKey),
    );
    this.#dynamic = options.dynamic;
    this.#dynamicTtlSeconds = options.dynamicTtlSeconds;
    this.#scopedClaims = options.scopedClaims ?? new Set();
  }

  /** The configured test users, for the login page's picker. */
  listUsers(): { username: string; sub: string; name?: string }[] {
    return [...this.#byUsername.values()].map((u) => ({
      username: u.username,
      sub: u.sub,
      ...(typeof u.claims.name === 'string' ? { name: u.claims.name } : {}),
    }));
  }

  isConfigured(username: string): boolean {
    return this.#byUsername.has(username);
  }

  /** Checks a username/password pair against the configured users (constant-time compare). */
  verifyPassword(username: string, password: string): Identity | undefined {
    const user = this.#byUsername.get(username);
    if (!user) return undefined;
    const a = Buffer.from(user.password);
    const b = Buffer.from(password);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return undefined;
    return { sub: user.sub, claims: user.claims };
  }

  /** A configured user by username, without a password (user picker, headless login). */
  configured(username: string): Identity | undefined {
    const user = this.#byUsername.get(username);
    return user ? { sub: user.sub, claims: user.claims } : undefined;
  }

  /**
   * "Any user" mode: an identity named by the visitor, with the claims they typed. The sub is
   * the username itself (trimmed by the username rule), so tokens stay readable. A name the
   * rule refuses, or one equal (ignoring case) to a configured username, a configured sub or a
   * client id, is refused: a dynamic account never shares a subject with a configured user or
   * with a client's client_credentials tokens.
   */
  async createDynamic(name: string, claims: Record<string, unknown>): Promise<DynamicResult> {
    const checked = checkUsername(name);
    if ('problem' in checked) return { refused: checked.problem };
    const { username } = checked;
    if (this.#taken.has(collisionKey(username))) {
      return {
        refused: `"${username}" is taken by a configured user or client; choose another name to sign in as a new user`,
      };
    }
    const identity = { sub: username, claims: { preferred_username: username, ...claims } };
    await this.#dynamic.upsert(username, { ...identity } as never, this.#dynamicTtlSeconds);
    return { identity };
  }

  /**
   * The account's claims that no scope releases (e.g. `roles`, or anything typed in "any
   * user" mode), for its access tokens: scopes decide what ID tokens and userinfo carry, but an
   * API under test usually wants such claims in the token it receives. Registered JWT claims
   * are never overridden.
   */
  async unscopedClaims(sub: string): Promise<Record<string, unknown> | undefined> {
    const claims =
      this.#bySub.get(sub)?.claims ??
      ((await this.#dynamic.find(sub)) as unknown as Identity | undefined)?.claims;
    if (!claims) return undefined;
    const extra = Object.entries(claims).filter(
      ([name]) => !this.#scopedClaims.has(name) && !RESERVED_CLAIMS.has(name),
    );
    return extra.length > 0 ? Object.fromEntries(extra) : undefined;
  }

  /** oidc-provider's `findAccount`. */
  findAccount = async (_ctx: KoaContextWithOIDC, sub: string): Promise<Account | undefined> => {
    const user = this.#bySub.get(sub);
    let claims: Record<string, unknown> | undefined = user?.claims;
    if (!claims) {
      const stored = (await this.#dynamic.find(sub)) as unknown as Identity | undefined;
      claims = stored?.claims;
    }
    if (!claims) return undefined;
    const found = claims;
    return {
      accountId: sub,
      claims: async () => ({ ...found, sub }) as AccountClaims,
    };
  };
}
