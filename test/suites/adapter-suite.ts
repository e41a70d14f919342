import { randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { AdapterFactory, AdapterPayload } from 'oidc-provider';
import Provider from 'oidc-provider';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type KeyNames, keyNames } from '../../src/store/keys.js';
import { inUnitOfWork } from '../../src/store/request-scope.js';
import { basic, tokenRequest } from '../support/flows.js';
import { uniqueNamespace } from '../support/redis.js';

/** Raw access to the store under an adapter, to check what the adapter's API cannot show. */
export interface RawStore {
  get(key: string): Promise<string | undefined>;
  set(key: string, value: string): Promise<void>;
  del(key: string): Promise<void>;
  members(key: string): Promise<string[]>;
  /** Milliseconds left; -2 when missing, -1 when the key never expires. */
  pttl(key: string): Promise<number>;
}

/** One store implementation, as the suite sees it. */
export interface StoreHarness {
  /** The oidc-provider adapter over `namespace`, with this clock tolerance (seconds) and clock. */
  adapter(namespace: string, clockTolerance: number, clock?: () => number): AdapterFactory;
  raw: RawStore;
  close(): Promise<void>;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const id = () => randomBytes(12).toString('base64url');
const epoch = () => Math.floor(Date.now() / 1000);

/** What a rejected promise rejected with, as an OAuth error code (or the error's name). */
function oauthError(result: PromiseSettledResult<unknown>): string | undefined {
  if (result.status !== 'rejected') return undefined;
  const err = result.reason as { error?: string; name?: string };
  return err.error ?? err.name;
}

/**
 * The adapter contract (oidc-provider's adapter interface, its `example/my_adapter.js`), once, for every store. `factory`
 * is called once per suite; every test works in its own namespace.
 */
export function adapterSuite(name: string, factory: () => Promise<StoreHarness>): void {
  describe(`oidc-provider adapter: ${name}`, () => {
    let store: StoreHarness;
    let raw: RawStore;

    beforeAll(async () => {
      store = await factory();
      raw = store.raw;
    });
    afterAll(async () => {
      await store?.close();
    });

    function setup(clockTolerance = 0, clock?: () => number) {
      const namespace = uniqueNamespace('adapter');
      const make = store.adapter(namespace, clockTolerance, clock);
      const names: KeyNames = keyNames(namespace);
      return { namespace, make, names, model: (m: string) => make(m) };
    }

    it('stores records as JSON and finds them again; unknown ids are undefined', async () => {
      const { model, names } = setup();
      const at = model('AccessToken');
      const jti = id();
      const payload = {
        jti,
        kind: 'AccessToken',
        accountId: 'alice',
        amr: [],
        claims: { userinfo: { email: null } },
        scope: 'openid',
        name: 'Zoë ✓',
        iat: epoch(),
      } as unknown as AdapterPayload;
      await at.upsert(jti, payload, 60);
      expect(await at.find(jti)).toEqual(payload);
      expect(JSON.parse((await raw.get(names.model('AccessToken', jti)))!)).toEqual(payload);
      expect(await at.find(id())).toBeUndefined();
      expect(await model('RefreshToken').find(jti)).toBeUndefined();
    });

    it('gives records TTL = expiresIn + clockTolerance, none without expiresIn, at least 1 s', async () => {
      const { model, names } = setup(15);
      const at = model('AccessToken');
      const [a, b, c] = [id(), id(), id()];
      await at.upsert(a, { jti: a }, 60);
      await model('Client').upsert(b, { client_id: b } as AdapterPayload);
      await at.upsert(c, { jti: c }, -60);
      const ttlA = await raw.pttl(names.model('AccessToken', a));
      expect(ttlA).toBeGreaterThan(74_000);
      expect(ttlA).toBeLessThanOrEqual(75_000);
      expect(await raw.pttl(names.model('Client', b))).toBe(-1);
      const ttlC = await raw.pttl(names.model('AccessToken', c));
      expect(ttlC).toBeGreaterThan(0);
      expect(ttlC).toBeLessThanOrEqual(1000);
    });

    it('lets records and their uid, userCode and grant indexes expire', async () => {
      const { model, names } = setup();
      const [sid, uid, dc, userCode, grantId] = [id(), id(), id(), id(), id()];
      await model('Session').upsert(sid, { jti: sid, uid } as AdapterPayload, 1);
      await model('DeviceCode').upsert(dc, { jti: dc, userCode, grantId }, 1);
      expect(await model('Session').findByUid(uid)).toMatchObject({ jti: sid });
      expect(await model('DeviceCode').findByUserCode(userCode)).toMatchObject({ jti: dc });
      await sleep(1300);
      expect(await model('Session').find(sid)).toBeUndefined();
      expect(await model('Session').findByUid(uid)).toBeUndefined();
      expect(await model('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      for (const key of [
        names.model('Session', sid),
        names.uid(uid),
        names.model('DeviceCode', dc),
        names.userCode(userCode),
        names.grant(grantId),
      ]) {
        expect(await raw.pttl(key), key).toBe(-2);
      }
    });

    it('keeps a grant index at least as long as its longest member', async () => {
      const { model, names } = setup();
      const grantId = id();
      const [a, b, c] = [id(), id(), id()];
      await model('AccessToken').upsert(a, { jti: a, grantId }, 60);
      await model('RefreshToken').upsert(b, { jti: b, grantId }, 3600);
      await model('AuthorizationCode').upsert(c, { jti: c, grantId }, 10);
      const ttl = await raw.pttl(names.grant(grantId));
      expect(ttl).toBeGreaterThan(3_590_000);
      expect(ttl).toBeLessThanOrEqual(3_600_000);
      expect((await raw.members(names.grant(grantId))).sort()).toEqual(
        [
          names.grantMember('AccessToken', a),
          names.grantMember('RefreshToken', b),
          names.grantMember('AuthorizationCode', c),
        ].sort(),
      );
      const d = id();
      await model('RefreshToken').upsert(d, { jti: d, grantId });
      expect(await raw.pttl(names.grant(grantId))).toBe(-1);
    });

    it('indexes only grantable models by grant and only sessions by uid', async () => {
      const { model, names } = setup();
      const [grantId, uid, i] = [id(), id(), id()];
      await model('Interaction').upsert(i, { jti: i, grantId, uid } as AdapterPayload, 60);
      expect(await raw.pttl(names.grant(grantId))).toBe(-2);
      expect(await raw.pttl(names.uid(uid))).toBe(-2);
      expect(await model('Interaction').find(i)).toMatchObject({ grantId });
    });

    it('moves uid, userCode and grant index entries when a record changes them', async () => {
      const { model, names } = setup();
      const [sid, uid1, uid2] = [id(), id(), id()];
      const session = model('Session');
      await session.upsert(sid, { jti: sid, uid: uid1 } as AdapterPayload, 60);
      await session.upsert(sid, { jti: sid, uid: uid2 } as AdapterPayload, 60);
      expect(await session.findByUid(uid1)).toBeUndefined();
      expect(await raw.get(names.uid(uid1))).toBeUndefined();
      expect(await session.findByUid(uid2)).toMatchObject({ jti: sid, uid: uid2 });

      const [dc, uc1, uc2, g1, g2] = [id(), id(), id(), id(), id()];
      const device = model('DeviceCode');
      await device.upsert(dc, { jti: dc, userCode: uc1, grantId: g1 }, 60);
      await device.upsert(dc, { jti: dc, userCode: uc2, grantId: g2 }, 60);
      expect(await device.findByUserCode(uc1)).toBeUndefined();
      expect(await raw.get(names.userCode(uc1))).toBeUndefined();
      expect(await device.findByUserCode(uc2)).toMatchObject({ jti: dc });
      expect(await raw.members(names.grant(g1))).toEqual([]);
      expect(await raw.members(names.grant(g2))).toEqual([names.grantMember('DeviceCode', dc)]);
    });

    it('never removes an index that points at another record', async () => {
      const { model, names } = setup();
      const session = model('Session');
      const [s1, s2, shared, other] = [id(), id(), id(), id()];
      await session.upsert(s1, { jti: s1, uid: shared } as AdapterPayload, 60);
      await session.upsert(s2, { jti: s2, uid: shared } as AdapterPayload, 60);
      await session.upsert(s1, { jti: s1, uid: other } as AdapterPayload, 60);
      expect(await raw.get(names.uid(shared))).toBe(s2);
      await session.destroy(s1);
      expect(await session.findByUid(shared)).toMatchObject({ jti: s2 });
      expect(await raw.get(names.uid(other))).toBeUndefined();
    });

    it('destroy removes the record, its indexes and its grant membership', async () => {
      const { model, names } = setup();
      const [dc, userCode, grantId, at] = [id(), id(), id(), id()];
      await model('DeviceCode').upsert(dc, { jti: dc, userCode, grantId }, 60);
      await model('AccessToken').upsert(at, { jti: at, grantId }, 60);
      await model('DeviceCode').destroy(dc);
      expect(await model('DeviceCode').find(dc)).toBeUndefined();
      expect(await raw.get(names.userCode(userCode))).toBeUndefined();
      expect(await raw.members(names.grant(grantId))).toEqual([
        names.grantMember('AccessToken', at),
      ]);
      await model('AccessToken').destroy(at);
      expect(await raw.pttl(names.grant(grantId))).toBe(-2);
      await model('AccessToken').destroy(at);
      await model('AccessToken').destroy(id());
    });

    it('revokeByGrantId deletes every model of the grant, in parallel, idempotently', async () => {
      const { model, names } = setup();
      const [grantId, otherGrant, userCode] = [id(), id(), id()];
      const members = {
        AccessToken: id(),
        RefreshToken: id(),
        AuthorizationCode: id(),
        DeviceCode: id(),
        BackchannelAuthenticationRequest: id(),
      };
      for (const [m, jti] of Object.entries(members)) {
        await model(m).upsert(
          jti,
          { jti, grantId, ...(m === 'DeviceCode' ? { userCode } : {}) },
          60,
        );
      }
      const survivor = id();
      await model('AccessToken').upsert(survivor, { jti: survivor, grantId: otherGrant }, 60);

      await Promise.all(Object.keys(members).map((m) => model(m).revokeByGrantId(grantId)));
      for (const [m, jti] of Object.entries(members)) {
        expect(await model(m).find(jti), m).toBeUndefined();
      }
      expect(await model('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      expect(await raw.get(names.userCode(userCode))).toBeUndefined();
      expect(await raw.pttl(names.grant(grantId))).toBe(-2);
      expect(await model('AccessToken').find(survivor)).toMatchObject({ grantId: otherGrant });
      await model('RefreshToken').revokeByGrantId(grantId);
      await model('RefreshToken').revokeByGrantId(id());
    });

    it('consume marks consumed and keeps the TTL; upsert afterwards keeps consumed', async () => {
      const { model, names } = setup();
      const code = model('AuthorizationCode');
      const [jti, grantId] = [id(), id()];
      const payload = { jti, grantId, amr: [], scope: 'openid' } as AdapterPayload;
      await code.upsert(jti, payload, 60);
      const before = epoch();
      await code.consume(jti);
      const consumed = (await code.find(jti))?.consumed;
      expect(typeof consumed).toBe('number');
      expect(consumed as number).toBeGreaterThanOrEqual(before);
      expect(await code.find(jti)).toEqual({ ...payload, consumed });
      expect(await raw.pttl(names.model('AuthorizationCode', jti))).toBeGreaterThan(55_000);

      await code.upsert(jti, { ...payload, scope: 'openid email' }, 60);
      expect(await code.find(jti)).toMatchObject({ scope: 'openid email', consumed });
      await code.upsert(jti, { ...payload, consumed: undefined } as AdapterPayload, 60);
      expect((await code.find(jti))?.consumed).toBe(consumed);
    });

    it('stamps consumed with the clock it was given', async () => {
      const stamp = Date.UTC(2030, 0, 2, 3, 4, 5);
      const { model } = setup(0, () => stamp + 999);
      const code = model('AuthorizationCode');
      const jti = id();
      await code.upsert(jti, { jti, grantId: id() } as AdapterPayload, 60);
      await code.consume(jti);
      expect((await code.find(jti))?.consumed).toBe(stamp / 1000);
    });

    it('lets exactly one of 20 parallel consumes win; the others get invalid_grant and the grant is revoked', async () => {
      const { namespace, model, names } = setup();
      const [jti, grantId, at] = [id(), id(), id()];
      await model('Grant').upsert(grantId, { jti: grantId, accountId: 'a' } as AdapterPayload, 60);
      await model('AccessToken').upsert(at, { jti: at, grantId }, 60);
      await model('AuthorizationCode').upsert(jti, { jti, grantId }, 60);
      // A separate adapter per request, as in separate issuer instances.
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          store.adapter(namespace, 0)('AuthorizationCode').consume(jti),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map(oauthError)).toEqual(
        Array(19).fill('invalid_grant'),
      );
      expect(await model('AccessToken').find(at)).toBeUndefined();
      expect(await model('AuthorizationCode').find(jti)).toBeUndefined();
      expect(await model('Grant').find(grantId)).toBeUndefined();
      expect(await raw.pttl(names.grant(grantId))).toBe(-2);
    });

    it('refuses a second consume later, and a consume of a missing record', async () => {
      const { model } = setup();
      const [rt, grantId, par] = [id(), id(), id()];
      await model('RefreshToken').upsert(rt, { jti: rt, grantId }, 60);
      await model('RefreshToken').consume(rt);
      await expect(model('RefreshToken').consume(rt)).rejects.toMatchObject({
        error: 'invalid_grant',
      });
      expect(await model('RefreshToken').find(rt)).toBeUndefined();
      await expect(model('AuthorizationCode').consume(id())).rejects.toMatchObject({
        error: 'invalid_grant',
      });

      await model('PushedAuthorizationRequest').upsert(par, { jti: par }, 60);
      const results = await Promise.allSettled(
        Array.from({ length: 5 }, () => model('PushedAuthorizationRequest').consume(par)),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map(oauthError)).toEqual(
        Array(4).fill('invalid_request_uri'),
      );
    });

    it('ReplayDetection: the first write of an id wins, even among 20 parallel writes', async () => {
      const { model } = setup();
      const replay = model('ReplayDetection');
      const jti = id();
      await replay.upsert(jti, { jti, iss: 'client' } as AdapterPayload, 60);
      await expect(
        replay.upsert(jti, { jti, iss: 'client' } as AdapterPayload, 60),
      ).rejects.toMatchObject({ error: 'invalid_client' });
      const other = id();
      const results = await Promise.allSettled(
        Array.from({ length: 20 }, () =>
          replay.upsert(other, { jti: other } as AdapterPayload, 60),
        ),
      );
      expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1);
      expect(new Set(results.filter((r) => r.status === 'rejected').map(oauthError))).toEqual(
        new Set(['invalid_client']),
      );
      expect(await replay.find(other)).toMatchObject({ jti: other });
    });

    it('refuses to write an id, grant id, uid or user code longer than 512 characters', async () => {
      const { model, names } = setup();
      const long = 'x'.repeat(513);
      const writes: [string, string, AdapterPayload][] = [
        ['DynamicAccount', long, { sub: long } as AdapterPayload],
        ['ReplayDetection', long, { jti: long } as AdapterPayload],
        ['AccessToken', id(), { grantId: long } as AdapterPayload],
        ['Session', id(), { uid: long } as AdapterPayload],
        ['DeviceCode', id(), { userCode: long } as AdapterPayload],
      ];
      for (const [m, key, payload] of writes) {
        await expect(model(m).upsert(key, payload, 60), m).rejects.toMatchObject({
          error: 'invalid_request',
        });
      }
      expect(await raw.get(names.model('DynamicAccount', long))).toBeUndefined();
      const edge = 'y'.repeat(512);
      await model('DynamicAccount').upsert(edge, { sub: edge } as AdapterPayload, 60);
      expect(await model('DynamicAccount').find(edge)).toMatchObject({ sub: edge });
    });

    it('answers undefined for a dangling index', async () => {
      const { model, names } = setup();
      const [uid, userCode, missing] = [id(), id(), id()];
      await raw.set(names.uid(uid), missing);
      await raw.set(names.userCode(userCode), missing);
      expect(await model('Session').findByUid(uid)).toBeUndefined();
      expect(await model('DeviceCode').findByUserCode(userCode)).toBeUndefined();
      expect(await model('Session').findByUid(id())).toBeUndefined();
    });

    it('inside a unit of work: reads its own writes at once; other readers see them once it ends', async () => {
      const { model, namespace } = setup();
      const session = model('Session');
      const [s1, s2, uid, interaction] = [id(), id(), id(), id()];
      await session.upsert(s1, { jti: s1, uid, accountId: 'alice' } as AdapterPayload, 60);
      await inUnitOfWork(
        () => [{ model: 'Session', id: s1 }],
        async () => {
          expect(await session.find(s1)).toMatchObject({ jti: s1 });
          // oidc-provider's resetIdentifier: the old session goes, a new one takes its uid.
          await session.destroy(s1);
          await session.upsert(s2, { jti: s2, uid, accountId: 'alice' } as AdapterPayload, 60);
          expect(await session.find(s1)).toBeUndefined();
          expect(await session.findByUid(uid)).toMatchObject({ jti: s2 });
          await model('Interaction').upsert(interaction, { jti: interaction }, 60);
          expect(await model('Interaction').find(interaction)).toEqual({ jti: interaction });
          await model('Interaction').upsert(
            interaction,
            { jti: interaction, result: { login: { accountId: 'alice' } } },
            60,
          );
          expect(await model('Interaction').find(interaction)).toMatchObject({
            result: { login: { accountId: 'alice' } },
          });
          await model('Interaction').destroy(interaction);
          expect(await model('Interaction').find(interaction)).toBeUndefined();
        },
      );
      // Another instance (another client, for Redis) outside any unit.
      const other = store.adapter(namespace, 0);
      expect(await other('Session').find(s1)).toBeUndefined();
      expect(await other('Session').findByUid(uid)).toMatchObject({ jti: s2 });
      expect(await other('Interaction').find(interaction)).toBeUndefined();
    });

    it('inside a unit of work: an upsert keeps a stored consumed flag it never read', async () => {
      const { model } = setup();
      const code = model('AuthorizationCode');
      const [jti, grantId] = [id(), id()];
      await code.upsert(jti, { jti, grantId }, 60);
      await code.consume(jti);
      await inUnitOfWork(
        () => [],
        async () => {
          await code.upsert(jti, { jti, grantId, extra: 1 } as unknown as AdapterPayload, 60);
          expect(await code.find(jti)).toMatchObject({ extra: 1, consumed: expect.any(Number) });
        },
      );
      expect(await code.find(jti)).toMatchObject({ extra: 1, consumed: expect.any(Number) });
    });

    it('inside units of work: consume is immediate and one of 10 parallel redemptions wins', async () => {
      const { model } = setup();
      const [jti, grantId] = [id(), id()];
      await model('AuthorizationCode').upsert(jti, { jti, grantId }, 60);
      const redemption = () =>
        inUnitOfWork(
          () => [],
          async () => {
            const code = model('AuthorizationCode');
            await code.find(jti);
            await code.consume(jti);
            const at = id();
            await model('AccessToken').upsert(at, { jti: at, grantId }, 60);
            return at;
          },
        );
      const results = await Promise.allSettled(Array.from({ length: 10 }, redemption));
      const won = results.filter((r) => r.status === 'fulfilled');
      expect(won).toHaveLength(1);
      expect(results.filter((r) => r.status === 'rejected').map(oauthError)).toEqual(
        Array(9).fill('invalid_grant'),
      );
    });

    it('inside a unit of work: a code written and consumed in it is consumed once; revocation follows the held writes', async () => {
      const { model, names } = setup();
      const [jti, grantId, at] = [id(), id(), id()];
      await inUnitOfWork(
        () => [],
        async () => {
          await model('AuthorizationCode').upsert(jti, { jti, grantId }, 60);
          await model('AuthorizationCode').consume(jti);
          await expect(model('AuthorizationCode').consume(jti)).rejects.toMatchObject({
            error: 'invalid_grant',
          });
          await model('AccessToken').upsert(at, { jti: at, grantId }, 60);
          await model('AccessToken').revokeByGrantId(grantId);
          expect(await model('AccessToken').find(at)).toBeUndefined();
        },
      );
      expect(await model('AccessToken').find(at)).toBeUndefined();
      expect(await model('AuthorizationCode').find(jti)).toBeUndefined();
      expect(await raw.pttl(names.grant(grantId))).toBe(-2);
    });

    it('inside a unit of work: hinted records and the records a record points at read like any other', async () => {
      const { model } = setup();
      const [grantId, sid, uid, interaction, code] = [id(), id(), id(), id(), id()];
      await model('Grant').upsert(grantId, { jti: grantId, accountId: 'alice' }, 60);
      await model('Session').upsert(sid, { jti: sid, uid } as AdapterPayload, 60);
      await model('Interaction').upsert(
        interaction,
        { jti: interaction, session: { uid }, result: { consent: { grantId } } } as AdapterPayload,
        60,
      );
      await model('AuthorizationCode').upsert(code, { jti: code, grantId, sessionUid: uid }, 60);
      await inUnitOfWork(
        () => [
          { model: 'Interaction', id: interaction },
          { model: 'Session', id: 'x'.repeat(600) },
          { model: 'Session', id: id() },
        ],
        async () => {
          expect(await model('AuthorizationCode').find(code)).toMatchObject({ grantId });
          expect(await model('Session').findByUid(uid)).toMatchObject({ jti: sid });
          expect(await model('Grant').find(grantId)).toMatchObject({ accountId: 'alice' });
          expect(await model('Interaction').find(interaction)).toMatchObject({ session: { uid } });
          expect(await model('Session').findByUid(id())).toBeUndefined();
          expect(await model('Grant').find(id())).toBeUndefined();
        },
      );
    });

    it.each([
      ['', false],
      [', each request a unit of work', true],
    ])(
      'with oidc-provider: 20 parallel redemptions of one code over HTTP give exactly one 200%s',
      async (_title, units) => {
        const { make } = setup(5);
        // Every request must pass oidc-provider's "consumed?" check before any consumes, so the
        // race is certain: the code's find answers only once all 20 requests have asked (or 2 s).
        const parallel = 20;
        let arrived = 0;
        let release: () => void = () => {};
        const allArrived = new Promise<void>((r) => {
          release = r;
          setTimeout(r, 2000).unref();
        });
        const racing: AdapterFactory = (model) => {
          const inner = make(model);
          if (model !== 'AuthorizationCode') return inner;
          return Object.assign(Object.create(inner) as typeof inner, {
            async find(jti: string) {
              const found = await inner.find(jti);
              if (++arrived === parallel) release();
              await allArrived;
              return found;
            },
          });
        };
        const provider = new Provider('http://127.0.0.1', {
          adapter: racing,
          clockTolerance: 5,
          ttl: {
            AccessToken: 600,
            AuthorizationCode: 60,
            Grant: 600,
            IdToken: 600,
            RefreshToken: 600,
          },
          clients: [
            {
              client_id: 'rp',
              client_secret: 'rp-secret-rp-secret-rp-secret-01',
              redirect_uris: ['https://rp.example/cb'],
              grant_types: ['authorization_code', 'refresh_token'],
              response_types: ['code'],
            },
          ],
          pkce: { required: () => false },
          findAccount: (_ctx, sub) => ({ accountId: sub, claims: () => ({ sub }) }),
        });
        if (units) provider.use((ctx, next) => inUnitOfWork(() => [], next, { request: ctx }));
        const server: Server = createServer(provider.callback());
        await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
        const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
        try {
          const client = await provider.Client.find('rp');
          const grant = new provider.Grant({ accountId: 'alice', clientId: 'rp' });
          grant.addOIDCScope('openid');
          const grantId = await grant.save();
          const code = await new provider.AuthorizationCode({
            accountId: 'alice',
            client: client!,
            grantId,
            scope: 'openid',
            redirectUri: 'https://rp.example/cb',
            authTime: epoch(),
            gty: 'authorization_code',
          }).save();

          const redeem = () =>
            tokenRequest(
              base,
              { grant_type: 'authorization_code', code, redirect_uri: 'https://rp.example/cb' },
              basic('rp', 'rp-secret-rp-secret-rp-secret-01'),
            );
          const answers = await Promise.all(Array.from({ length: parallel }, redeem));
          expect(arrived).toBe(parallel);
          const ok = answers.filter((a) => a.status === 200);
          expect(ok).toHaveLength(1);
          expect(answers.filter((a) => a.status === 400).map((a) => a.body.error)).toEqual(
            Array(19).fill('invalid_grant'),
          );
          // The replays revoked the grant, so the winner's token is dead too.
          const userinfo = await fetch(`${base}/me`, {
            headers: { authorization: `Bearer ${ok[0]!.body.access_token}` },
          });
          expect(userinfo.status).toBe(401);
        } finally {
          await new Promise((r) => server.close(r));
        }
      },
    );
  });
}
