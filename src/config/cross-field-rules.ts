/** The config rules that span several fields (after the schema checked each field alone). */
import { clientProblems } from './client-rules.js';
import { formatDuration } from './duration.js';
import { passwordGrantProblems } from './password-grant-rules.js';
import type { IssuerConfig } from './schema.js';

/** Rules that span several fields; each message names the field at fault. */
export function crossFieldProblems(c: IssuerConfig): string[] {
  const problems: string[] = [];
  const dupes = (values: string[]) => values.filter((v, i) => values.indexOf(v) !== i);
  for (const d of dupes(c.users.map((u) => u.username)))
    problems.push(`users: duplicate username "${d}"`);
  for (const d of dupes(c.users.map((u) => u.sub))) problems.push(`users: duplicate sub "${d}"`);
  for (const d of dupes(c.clients.map((cl) => cl.id)))
    problems.push(`clients: duplicate id "${d}"`);
  const clientIds = new Set(c.clients.map((cl) => cl.id));
  c.users.forEach((u, i) => {
    // A client_credentials token's sub is the client id: the user's tokens would look like it.
    if (clientIds.has(u.sub))
      problems.push(`users.${i}.sub: "${u.sub}" is also a client id; subjects must be distinct`);
  });
  for (const d of dupes(c.resourceServers.map((r) => r.audience))) {
    problems.push(`resourceServers: duplicate audience "${d}"`);
  }
  const audiences = new Set(c.resourceServers.map((r) => r.audience));
  const resourceScopes = new Set(c.resourceServers.flatMap((r) => r.scopes));
  const knownScopes = new Set([
    'openid',
    'offline_access',
    ...Object.keys(c.scopes),
    ...resourceScopes,
  ]);
  c.clients.forEach((cl, i) => {
    problems.push(
      ...clientProblems(cl, `clients[${i}]`, {
        audiences,
        knownScopes,
        algorithms: c.keys.algorithms,
      }),
    );
  });
  problems.push(...passwordGrantProblems(c));
  c.resourceServers.forEach((r, i) => {
    if (r.signingAlg && !c.keys.algorithms.includes(r.signingAlg)) {
      problems.push(`resourceServers[${i}].signingAlg: ${r.signingAlg} is not in keys.algorithms`);
    }
  });
  const longestToken = Math.max(
    c.ttl.accessToken,
    c.ttl.idToken,
    c.ttl.clientCredentials,
    ...c.resourceServers.map((r) => r.accessTokenTtl),
  );
  const needed = longestToken + c.clockTolerance;
  if (c.keys.retention < needed) {
    problems.push(
      `keys.retention: ${formatDuration(c.keys.retention)} is shorter than the longest token lifetime plus clock tolerance (${formatDuration(needed)}); tokens would outlive the key that verifies them`,
    );
  }
  if (c.keys.rotationPeriod < c.keys.prePublication) {
    problems.push(
      `keys.rotationPeriod: ${formatDuration(c.keys.rotationPeriod)} is shorter than keys.prePublication (${formatDuration(c.keys.prePublication)}); a new key could not be published long enough before it signs`,
    );
  }
  if (c.tls && new URL(c.issuer).protocol !== 'https:') {
    problems.push(
      `issuer: ${c.issuer} is not an https:// URL, but tls is set: clients would be sent to plain HTTP`,
    );
  }
  if (c.keys.prePublication <= 0) problems.push('keys.prePublication: must be greater than 0');
  if (c.keys.rotationPeriod <= 0) problems.push('keys.rotationPeriod: must be greater than 0');
  return problems;
}
