import type { ServerResponse } from 'node:http';
import type { Context, Middleware } from 'koa';
import { ERRORS, type ErrorCode, IssuerError, oauthError, RETRY_AFTER } from '../errors.js';

/** What a failed request answers, whatever threw. */
export interface ErrorAnswer {
  status: number;
  /** The OAuth-style `error`. */
  error: string;
  /** `error_description`: for people; absent when the error brought none. */
  description: string | undefined;
  /** Our fixed code, for an {@link IssuerError}. */
  code?: ErrorCode;
  /** Further members of the JSON body (see `IssuerError.details`). */
  details?: Readonly<Record<string, unknown>>;
}

const UNAVAILABLE = ERRORS.STORE_UNAVAILABLE.error;
const OUR_FAULT = 'something went wrong on our side';

/**
 * The answer for `err`: an {@link IssuerError} (TokenError, KeyError, PageError, …) as the
 * error table says; an error oidc-provider or koa marked `expose` with its own status, `error`
 * and description; anything else, and any 5xx but a 503, only says it is our fault (the log
 * has the rest).
 */
function answerFor(err: unknown): ErrorAnswer {
  const e = (err ?? {}) as {
    statusCode?: number;
    status?: number;
    error?: string;
    error_description?: string;
    message?: string;
    expose?: boolean;
  };
  if (err instanceof IssuerError) {
    const { status } = ERRORS[err.code];
    if (status >= 500 && status !== 503) return ourFault(status);
    return {
      status,
      error: oauthError(err.code),
      // The errors oidc-provider also throws keep their message for the OAuth code it reads.
      description: e.error_description ?? err.message,
      code: err.code,
      ...(err.details ? { details: err.details } : {}),
    };
  }
  const status = e.statusCode ?? e.status ?? 500;
  if (!e.expose || (status >= 500 && status !== 503)) return ourFault(status);
  return {
    status,
    error: e.error ?? (status === 503 ? UNAVAILABLE : 'invalid_request'),
    description: e.error_description ?? (e.error ? undefined : e.message),
  };
}

function ourFault(status: number): ErrorAnswer {
  return { status, error: 'server_error', description: OUR_FAULT };
}

/** Shows an error answer as a page (the sign-in pages) instead of JSON. */
export type ErrorPage = (ctx: Context, answer: ErrorAnswer) => void;

/**
 * The one place our routes turn a thrown error into a response: JSON
 * `{error, error_description, code, …details}` (or `page`'s HTML) with the status of
 * {@link answerFor}, `Retry-After` on a 503. A 5xx other than 503 is also reported on the app's
 * `error` event, to be logged.
 */
export function errorResponses(page?: ErrorPage): Middleware {
  return async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      // oidc-provider answers its own requests; a response already on its way cannot change.
      if (ctx.respond === false || ctx.headerSent) throw err;
      const answer = answerFor(err);
      if (answer.status >= 500 && answer.status !== 503) ctx.app.emit('error', err, ctx);
      if (page) {
        if (answer.status === 503) ctx.set('Retry-After', RETRY_AFTER);
        page(ctx, answer);
      } else {
        sendAnswer(ctx, answer);
      }
    }
  };
}

/** Sends `answer` as the JSON body every error of ours has, with `Retry-After` on a 503. */
function sendAnswer(ctx: Context, answer: ErrorAnswer): void {
  ctx.status = answer.status;
  if (answer.status === 503) ctx.set('Retry-After', RETRY_AFTER);
  ctx.body = bodyOf(answer);
}

function bodyOf(answer: ErrorAnswer): Record<string, unknown> {
  return {
    error: answer.error,
    error_description: answer.description,
    ...(answer.code ? { code: answer.code } : {}),
    ...answer.details,
  };
}

/** The answer while the issuer cannot serve a request right now: 503, and why. */
function unavailable(description: string): ErrorAnswer {
  return { status: 503, error: UNAVAILABLE, description };
}

/** Answers `503 temporarily_unavailable` with `description` and `Retry-After`. */
export function sendUnavailable(ctx: Context, description: string): void {
  sendAnswer(ctx, unavailable(description));
}

/** As {@link sendUnavailable}, on a bare Node response (the listener before the app is up). */
export function writeUnavailable(res: ServerResponse, description: string): void {
  writeJson(res, 503, bodyOf(unavailable(description)), { 'Retry-After': RETRY_AFTER });
}

/** Answers `status` with `body` as JSON on a bare Node response, as koa would send it. */
export function writeJson(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    ...headers,
    'Content-Type': 'application/json; charset=utf-8',
    'Content-Length': Buffer.byteLength(text),
  });
  res.end(text);
}
