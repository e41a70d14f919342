/**
 * Benchmark target: oauth2-mock-server 8 (the TypeScript peer) with one generated key of ALG.
 * Env: PORT, HOST, ISSUER, ALG.
 */
import { OAuth2Server } from 'oauth2-mock-server';

const port = Number(process.env.PORT ?? 0);
const host = process.env.HOST ?? '127.0.0.1';
const server = new OAuth2Server();
await server.issuer.keys.generate(process.env.ALG ?? 'RS256');
await server.start(port, host);
server.issuer.url = process.env.ISSUER ?? `http://${host}:${port}`;
process.once('SIGTERM', () => process.exit(0));
