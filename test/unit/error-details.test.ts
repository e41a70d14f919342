import { describe, expect, it } from 'vitest';
import { validateConfig } from '../../src/config/load.js';
import { explainError, nearMisses } from '../../src/provider/error-details.js';

const CB = 'http://localhost:3001/callback';

describe('redirect URI near misses', () => {
  it('names each kind of near miss, and nothing for an unrelated URI', () => {
    expect(nearMisses(`${CB}/`, [CB])).toEqual([
      `${CB}/ differs from the registered ${CB} only by a trailing slash; redirect URIs must match exactly`,
    ]);
    expect(nearMisses('http://127.0.0.1:3001/callback', [CB])[0]).toMatch(
      /^127\.0\.0\.1 is not localhost: the registered .* Open the app at http:\/\/localhost:3001/,
    );
    expect(nearMisses('http://localhost:3001/Callback', [CB])[0]).toContain('only in letter case');
    expect(nearMisses('http://localhost:3002/callback', [CB])[0]).toContain(
      'uses port 3002; the registered http://localhost:3001/callback uses 3001',
    );
    expect(nearMisses('https://localhost:3001/callback', [CB])[0]).toContain('uses https');
    expect(nearMisses(`${CB}?next=/`, [CB])[0]).toContain('another query');
    expect(nearMisses('http://example.test/cb', [CB])).toEqual([]);
    expect(nearMisses('localhost/cb', [CB])).toEqual([
      'localhost/cb is not an absolute URI: send the full URI, scheme included',
    ]);
  });

  it('explains a mismatch with the sent and registered URIs and the config field to change', () => {
    const { clients } = validateConfig({
      clients: [{ id: 'web', secret: 's', redirectUris: [CB], scopes: ['openid'] }],
    });
    const details = explainError(
      {
        error: 'invalid_redirect_uri',
        description: "redirect_uri did not match any of the client's registered redirect_uris",
        params: { client_id: 'web', redirect_uri: `${CB}/` },
        clientId: 'web',
      },
      clients,
    );
    expect(details.facts).toEqual([
      { label: 'You sent', values: [`${CB}/`] },
      { label: 'Registered for web', values: [CB] },
    ]);
    expect(details.hints.at(-1)).toBe(
      `Send one of the registered URIs, or add ${CB}/ to clients[0].redirectUris in the config.`,
    );
    const logout = explainError(
      {
        error: 'invalid_request',
        description: 'post_logout_redirect_uri not registered',
        params: { client_id: 'web', post_logout_redirect_uri: 'http://x.test/' },
        clientId: 'web',
      },
      clients,
    );
    expect(logout.facts[1]).toEqual({ label: 'Registered for web', values: [] });
    expect(logout.hints.at(-1)).toContain('clients[0].postLogoutRedirectUris');
  });
});

describe('an unknown client', () => {
  const { clients } = validateConfig({
    clients: [
      { id: 'demo-web', secret: 's', redirectUris: [CB], scopes: ['openid'] },
      { id: 'billing-service', secret: 's', grantTypes: ['client_credentials'] },
    ],
  });
  const unknown = (clientId: string) =>
    explainError({ error: 'invalid_client', params: { client_id: clientId } }, clients);

  it('lists the registered clients and suggests the one the id is a misspelling of', () => {
    const details = unknown('demo-wbe');
    expect(details.description).toBe('no client with client_id "demo-wbe" is registered');
    expect(details.facts).toEqual([
      { label: 'Registered clients', values: ['demo-web', 'billing-service'] },
    ]);
    expect(details.hints[0]).toBe('Did you mean demo-web?');
  });

  it('suggests nothing for an id unlike any registered one', () => {
    expect(unknown('zzz').hints.some((h) => h.startsWith('Did you mean'))).toBe(false);
  });
});
