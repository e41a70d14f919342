/**
 * Start-time rules for the token exchange grant (src/config/client-rules.ts): each mistake gets
 * an error naming the field, and a correct client loads with the grant's URN.
 */
import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import type { RawConfig } from '../../src/config/schema.js';
import { problemsOf } from '../support/config.js';

type RawClient = NonNullable<RawConfig['clients']>[number];

const API = 'https://api.test';
const withClient = (client: Partial<RawClient>): RawConfig => ({
  resourceServers: [{ audience: API, scopes: ['read'] }],
  clients: [{ id: 'svc', secret: 'svc-secret', scopes: ['openid'], ...client }],
});

describe('token exchange config', () => {
  it('accepts a confidential client with targets, under its URN', () => {
    const config = validateConfig(
      withClient({ grantTypes: ['token-exchange'], resources: [API], exchangeIdTokens: true }),
    );
    expect(config.clients[0]?.grantTypes).toEqual([
      'urn:ietf:params:oauth:grant-type:token-exchange',
    ]);
  });

  it('needs a confidential client and at least one target', () => {
    expect(problemsOf(withClient({ grantTypes: ['token-exchange'], secret: undefined }))).toEqual([
      'clients[0].secret: token-exchange needs a confidential client (set a secret), or anyone could exchange the tokens it receives',
      'clients[0].resources: token-exchange needs the audiences this client may exchange tokens for',
    ]);
  });

  it('exchangeIdTokens without the grant would never be used', () => {
    expect(
      problemsOf(withClient({ grantTypes: ['client_credentials'], exchangeIdTokens: true })),
    ).toEqual([
      'clients[0].exchangeIdTokens: only used with the token-exchange grant (grantTypes)',
    ]);
  });

  it('refresh_token with token exchange alone has no grant that issues a first refresh token', () => {
    expect(
      problemsOf(withClient({ grantTypes: ['token-exchange', 'refresh_token'], resources: [API] })),
    ).toEqual([
      'clients[0].grantTypes: refresh_token needs authorization_code or device_code to get a first token',
    ]);
  });
});
