/**
 * Looks at a JWK, a JWK set or PEM keys and reports what each key is and what is wrong with
 * it, the way a verifier (or an attacker) would see it. For `oidc-issuer jwk inspect`.
 */
import { createPrivateKey, createPublicKey, type KeyObject, X509Certificate } from 'node:crypto';
import type { JWK } from 'jose';
import { parseJsonObject } from '../json.js';
import { PEM_BLOCK } from '../keystore/material.js';
import { TokenError } from './errors.js';
import { type Finding, inspectJwk, type KeyReport } from './jwk-key-checks.js';

export interface InspectReport {
  /** `jwks` for `{"keys": […]}`, `jwk` for one key, `pem` for PEM blocks. */
  kind: 'jwk' | 'jwks' | 'pem';
  keys: KeyReport[];
  /** Findings about the set as a whole (duplicate kids, empty set). */
  findings: Finding[];
  errors: number;
  warnings: number;
}

/** AWS ALB's JWT verification takes a JWKS of at most this many keys. */
const ALB_MAX_KEYS = 10;

/**
 * Inspects `input`: a JWK or JWK set (JSON text or an already parsed object), or PEM text
 * (public keys, private keys, certificates).
 * @throws TokenError `INPUT_INVALID` when it is none of those.
 */
export async function inspectKeys(input: string | Record<string, unknown>): Promise<InspectReport> {
  let report: InspectReport;
  if (typeof input === 'string' && !input.trim().startsWith('{')) {
    report = await inspectPem(input);
  } else {
    const doc = typeof input === 'string' ? parseJson(input) : input;
    if (Array.isArray(doc.keys)) {
      const keys = doc.keys as unknown[];
      report = { kind: 'jwks', keys: [], findings: [], errors: 0, warnings: 0 };
      if (keys.length === 0) {
        report.findings.push({
          severity: 'error',
          code: 'EMPTY_SET',
          message: 'the set has no keys',
        });
      }
      for (const [i, k] of keys.entries()) report.keys.push(await inspectJwk(k, i, true));
      const seen = new Map<string, number>();
      for (const k of report.keys)
        if (k.kid !== undefined) seen.set(k.kid, (seen.get(k.kid) ?? 0) + 1);
      for (const [kid, count] of seen) {
        if (count > 1) {
          report.findings.push({
            severity: 'error',
            code: 'DUPLICATE_KID',
            message: `kid ${kid} appears ${count} times; verifiers pick one of them arbitrarily or reject the set`,
          });
        }
      }
      if (keys.length > ALB_MAX_KEYS) {
        report.findings.push({
          severity: 'warning',
          code: 'TOO_MANY_KEYS',
          message: `${keys.length} keys; AWS ALB accepts a JWKS of at most ${ALB_MAX_KEYS} keys`,
        });
      }
      if (keys.length > 1 && report.keys.some((k) => k.kid === undefined)) {
        report.findings.push({
          severity: 'error',
          code: 'MISSING_KID_IN_SET',
          message: 'a set of several keys needs a kid on every key, or verifiers cannot choose',
        });
      }
    } else {
      report = {
        kind: 'jwk',
        keys: [await inspectJwk(doc, 0, false)],
        findings: [],
        errors: 0,
        warnings: 0,
      };
    }
  }
  const all = [...report.findings, ...report.keys.flatMap((k) => k.findings)];
  report.errors = all.filter((f) => f.severity === 'error').length;
  report.warnings = all.filter((f) => f.severity === 'warning').length;
  return report;
}

async function inspectPem(text: string): Promise<InspectReport> {
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    throw new TokenError('INPUT_INVALID', 'expected a JWK, a JWK set or PEM text');
  }
  const report: InspectReport = { kind: 'pem', keys: [], findings: [], errors: 0, warnings: 0 };
  for (const [i, match] of blocks.entries()) {
    const [pem, label] = match;
    if (label === 'EC PARAMETERS') continue;
    let key: KeyObject;
    let isPrivate = false;
    try {
      if (label === 'CERTIFICATE') key = new X509Certificate(pem).publicKey;
      else if (label?.includes('PRIVATE')) {
        key = createPrivateKey(pem);
        isPrivate = true;
      } else key = createPublicKey(pem);
    } catch (e) {
      report.keys.push({
        index: i,
        private: !!label?.includes('PRIVATE'),
        findings: [
          {
            severity: 'error',
            code: 'INVALID_KEY',
            message: `cannot read the ${label} block: ${(e as Error).message}`,
          },
        ],
      });
      continue;
    }
    const jwk = key.export({ format: 'jwk' }) as JWK;
    const keyReport = await inspectJwk(jwk, i, false);
    // A PEM carries neither kid nor alg; that is expected, not a problem of the file.
    keyReport.findings = keyReport.findings.filter(
      (f) => f.code !== 'MISSING_ALG' && f.code !== 'MISSING_KID',
    );
    keyReport.private = isPrivate;
    report.keys.push(keyReport);
  }
  return report;
}

function parseJson(text: string): Record<string, unknown> {
  const parsed = parseJsonObject(text);
  if (parsed.ok) return parsed.value;
  throw new TokenError(
    'INPUT_INVALID',
    parsed.syntax !== undefined
      ? `not valid JSON (${parsed.syntax})`
      : 'expected a JSON object (a JWK or {"keys": [...]})',
  );
}
