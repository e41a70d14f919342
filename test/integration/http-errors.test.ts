import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import Koa from 'koa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IssuerError, PageError, StoreUnavailableError } from '../../src/errors.js';
import { errorResponses, writeUnavailable } from '../../src/http/errors.js';
import { TokenError } from '../../src/tools/errors.js';

/** Throws what `/<name>` names, behind the error middleware (JSON, or a page under /page). */
const THROWN: Record<string, () => unknown> = {
  token: () => new TokenError('MINT_OPTIONS_INVALID', 'sub: required'),
  early: () =>
    new IssuerError('ROTATION_TOO_EARLY', 'not yet', { details: { notBefore: '2026-01-01' } }),
  store: () => new StoreUnavailableError('connect ECONNREFUSED'),
  corrupt: () => new IssuerError('KEYRING_CORRUPT', 'the stored ring is not JSON'),
  stale: () => new PageError('INTERACTION_FORM_STALE', 'the form is stale'),
  exposed: () =>
    Object.assign(new Error('invalid_request'), {
      expose: true,
      statusCode: 400,
      error: 'invalid_request',
      error_description: 'session not found',
    }),
  defect: () => new TypeError('x is undefined'),
};

let url: string;
let server: Server;
const reported: unknown[] = [];

beforeAll(async () => {
  const app = new Koa();
  app.silent = true;
  app.on('error', (err) => reported.push(err));
  const page = errorResponses((ctx, answer) => {
    ctx.status = answer.status;
    ctx.type = 'html';
    ctx.body = `<h1>${answer.error}</h1><p>${answer.description}</p>`;
  });
  const json = errorResponses();
  app.use((ctx, next) => (ctx.path.startsWith('/page/') ? page(ctx, next) : json(ctx, next)));
  app.use((ctx) => {
    if (ctx.path === '/starting') return;
    throw THROWN[ctx.path.split('/').pop() as string]?.();
  });
  server = createServer((req, res) =>
    req.url === '/starting'
      ? writeUnavailable(res, 'the issuer is starting')
      : app.callback()(req, res),
  );
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

const get = async (path: string) => {
  const res = await fetch(`${url}${path}`);
  return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.text() };
};

describe('the HTTP error middleware', () => {
  it('answers our errors as the table says: status, error, description, code, details', async () => {
    expect(await get('/token')).toEqual({
      status: 400,
      retryAfter: null,
      body: JSON.stringify({
        error: 'invalid_request',
        error_description: 'sub: required',
        code: 'MINT_OPTIONS_INVALID',
      }),
    });
    expect(JSON.parse((await get('/early')).body)).toEqual({
      error: 'rotation_too_early',
      error_description: 'not yet',
      code: 'ROTATION_TOO_EARLY',
      notBefore: '2026-01-01',
    });
  });

  it('answers an outage 503 temporarily_unavailable with Retry-After, never the cause', async () => {
    const store = await get('/store');
    expect(store.status).toBe(503);
    expect(store.retryAfter).toBe('1');
    expect(JSON.parse(store.body)).toEqual({
      error: 'temporarily_unavailable',
      error_description: 'the issuer cannot reach its store right now; try again shortly',
      code: 'STORE_UNAVAILABLE',
    });
    expect(await get('/starting')).toEqual({
      status: 503,
      retryAfter: '1',
      body: '{"error":"temporarily_unavailable","error_description":"the issuer is starting"}',
    });
  });

  it('says only "our fault" for a 5xx other than 503, and reports it to be logged', async () => {
    reported.length = 0;
    for (const path of ['/corrupt', '/defect']) {
      const res = await get(path);
      expect(res.status, path).toBe(500);
      expect(JSON.parse(res.body), path).toEqual({
        error: 'server_error',
        error_description: 'something went wrong on our side',
      });
    }
    expect(reported.map((e) => (e as Error).message)).toEqual([
      'the stored ring is not JSON',
      'x is undefined',
    ]);
  });

  it('hands a page its answer: a PageError, an exposed OAuth error', async () => {
    expect(await get('/page/stale')).toMatchObject({
      status: 403,
      body: '<h1>invalid_request</h1><p>the form is stale</p>',
    });
    expect(await get('/page/exposed')).toMatchObject({
      status: 400,
      body: '<h1>invalid_request</h1><p>session not found</p>',
    });
    expect(await get('/page/store')).toMatchObject({ status: 503, retryAfter: '1' });
  });
});
