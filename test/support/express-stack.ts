/**
 * A third-party API stack for the probe's tests: express + express-jwt + jwks-rsa with the
 * settings their READMEs recommend (JWKS cache and rate limit on, `algorithms`, `audience` and
 * `issuer` pinned). `withProbeFixes` adds the two checks docs/probe.md gives for jsonwebtoken's
 * gaps (a future `iat`, an unknown `crit`).
 */
import { createServer } from 'node:http';
import express, { type NextFunction, type Request, type Response } from 'express';
import { expressjwt, type Request as JwtRequest, UnauthorizedError } from 'express-jwt';
import jwt from 'jsonwebtoken';
import jwksRsa from 'jwks-rsa';
import { listen, type TestApi } from './verifiers.js';

export async function startExpressApi(options: {
  issuer: string;
  audience: string;
  withProbeFixes?: boolean;
}): Promise<TestApi> {
  const meta = (await (
    await fetch(`${options.issuer}/.well-known/openid-configuration`)
  ).json()) as { jwks_uri: string };
  const app = express();
  app.use(
    '/api',
    expressjwt({
      secret: jwksRsa.expressJwtSecret({
        cache: true,
        rateLimit: true,
        jwksRequestsPerMinute: 5,
        jwksUri: meta.jwks_uri,
      }) as never,
      audience: options.audience,
      issuer: options.issuer,
      algorithms: ['RS256'],
    }),
  );
  if (options.withProbeFixes) {
    // jsonwebtoken ignores `crit` and a future `iat`; check both once the token is verified.
    app.use('/api', (req: Request, _res: Response, next: NextFunction) => {
      const token = (req.headers.authorization ?? '').slice('Bearer '.length);
      const decoded = jwt.decode(token, { complete: true });
      const iat = (decoded?.payload as jwt.JwtPayload | undefined)?.iat ?? 0;
      if (decoded?.header.crit !== undefined || iat > Date.now() / 1000 + 60) {
        next(new UnauthorizedError('invalid_token', { message: 'token not acceptable' }));
        return;
      }
      next();
    });
  }
  app.get('/api/whoami', (req: JwtRequest, res: Response) => {
    const scopes = String(req.auth?.scope ?? '').split(' ');
    if (!scopes.includes('api:read')) {
      res.status(403).set('WWW-Authenticate', 'Bearer error="insufficient_scope"').json({
        error: 'insufficient_scope',
      });
      return;
    }
    res.json({ sub: req.auth?.sub });
  });
  app.use((err: Error, _req: Request, res: Response, next: NextFunction) => {
    if (err instanceof UnauthorizedError) {
      res.status(401).json({ error: 'invalid_token', error_description: err.message });
      return;
    }
    next(err);
  });
  return listen(createServer(app), '/api/whoami');
}
