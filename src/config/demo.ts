import type { RawConfig } from './schema.js';

/**
 * The built-in development configuration used when no config file is given. Every user, client
 * and secret here is a DEMO credential: published in the README, printed at start, and flagged
 * with a warning when the issuer listens on a non-loopback address.
 */
export const DEMO_API_AUDIENCE = 'http://localhost:4000/api';

export function demoConfig(): RawConfig {
  return {
    issuer: 'http://localhost:3000',
    login: { userPicker: true, anyUser: true, headless: false },
    // The demo is for trying things out, also from a container bound to 0.0.0.0.
    console: { enabled: true },
    scopes: {
      profile: ['name', 'given_name', 'family_name', 'preferred_username', 'locale', 'updated_at'],
      email: ['email', 'email_verified'],
      groups: ['groups'],
    },
    users: [
      {
        sub: 'alice',
        username: 'alice',
        password: 'alice',
        claims: {
          name: 'Alice Example',
          given_name: 'Alice',
          family_name: 'Example',
          preferred_username: 'alice',
          email: 'alice@example.com',
          email_verified: true,
          groups: ['admins', 'users'],
        },
      },
      {
        sub: 'bob',
        username: 'bob',
        password: 'bob',
        claims: {
          name: 'Bob Example',
          given_name: 'Bob',
          family_name: 'Example',
          preferred_username: 'bob',
          email: 'bob@example.com',
          email_verified: false,
          groups: ['users'],
        },
      },
    ],
    resourceServers: [
      {
        audience: DEMO_API_AUDIENCE,
        scopes: ['api:read', 'api:write'],
        accessTokenTtl: '1h',
        format: 'jwt',
      },
    ],
    clients: [
      {
        id: 'demo-spa',
        name: 'Demo single-page app',
        redirectUris: [
          'http://localhost:5173/callback',
          'http://localhost:8080/callback',
          'http://127.0.0.1:5173/callback',
        ],
        postLogoutRedirectUris: [
          'http://localhost:5173/',
          'http://localhost:8080/',
          'http://127.0.0.1:5173/',
        ],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'api:read', 'api:write'],
        resources: [DEMO_API_AUDIENCE],
        corsOrigins: ['http://localhost:5173', 'http://localhost:8080', 'http://127.0.0.1:5173'],
      },
      {
        id: 'demo-web',
        name: 'Demo web app',
        secret: 'demo-web-secret',
        redirectUris: ['http://localhost:3001/callback', 'http://127.0.0.1:3001/callback'],
        postLogoutRedirectUris: ['http://localhost:3001/', 'http://127.0.0.1:3001/'],
        grantTypes: ['authorization_code', 'refresh_token', 'device_code'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'api:read'],
        resources: [DEMO_API_AUDIENCE],
      },
      {
        // The console's debugger (/debugger) signs in with this client; its redirect URI is a
        // path on the issuer itself, so it follows the issuer URL wherever it runs.
        id: 'debugger',
        name: 'Issuer debugger',
        redirectUris: ['/debugger/callback'],
        postLogoutRedirectUris: ['/debugger'],
        grantTypes: ['authorization_code', 'refresh_token'],
        scopes: ['openid', 'profile', 'email', 'groups', 'offline_access', 'api:read', 'api:write'],
        resources: [DEMO_API_AUDIENCE],
        skipConsent: true,
      },
      {
        id: 'demo-service',
        name: 'Demo machine client',
        secret: 'demo-service-secret',
        grantTypes: ['client_credentials'],
        scopes: ['api:read', 'api:write'],
        resources: [DEMO_API_AUDIENCE],
      },
    ],
  };
}

/**
 * The demo credentials `config` still serves (a config that `extends: demo` keeps them unless it
 * replaces them): demo users with their demo password, demo clients with their demo secret.
 * Demo mode lasts while any are. `publicClients` are the demo's public clients still present
 * unchanged: no credential, but worth listing next to them.
 */
export function demoCredentialsIn(config: {
  users: readonly { username: string; password: string }[];
  clients: readonly { id: string; secret?: string | undefined }[];
}): { users: string[]; clients: string[]; publicClients: string[] } {
  const demo = demoConfig();
  const unchanged = (c: { id: string; secret?: string | undefined }) =>
    demo.clients?.some((d) => d.id === c.id && d.secret === c.secret) ?? false;
  return {
    users: config.users
      .filter((u) =>
        demo.users?.some((d) => d.username === u.username && d.password === u.password),
      )
      .map((u) => u.username),
    clients: config.clients.filter((c) => c.secret && unchanged(c)).map((c) => c.id),
    publicClients: config.clients.filter((c) => !c.secret && unchanged(c)).map((c) => c.id),
  };
}
