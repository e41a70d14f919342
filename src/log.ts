import { type Logger, pino } from 'pino';

/**
 * The process logger: JSON lines on stdout (one object per event, with `reqId` on request
 * logs). `silent` turns it off, e.g. for the in-process API inside someone else's test suite.
 */
export function createLogger(level: string, destination?: NodeJS.WritableStream): Logger {
  return pino(
    {
      level,
      base: { name: 'oidc-issuer' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', 'secret', 'token', '*.password', '*.secret'],
        censor: '[redacted]',
      },
    },
    destination ?? process.stdout,
  );
}
