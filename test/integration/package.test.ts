import { execFile } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { stripVTControlCharacters } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PACKAGE_ROOT } from '../../src/paths.js';

/**
 * The path a user walks: `npm pack`, the tarball installed into a fresh project together with
 * vitest, jose and TypeScript (the versions this project uses, so npm finds them in its cache),
 * the project type-checked with TypeScript's default `skipLibCheck: false`, and a vitest suite
 * run there against `createTestIssuer()` — docs/in-process.md's own example plus a few lines.
 * It packs the dist/ that `npm test` has just built.
 */
const INSTALL_TIMEOUT_MS = 240_000;
let project: string;
let tarball: string;

/** A child command with npm's and vitest's variables of this run removed, so neither the nested npm nor the nested vitest takes them for its own. */
function run(
  file: string,
  args: string[],
  cwd: string,
  timeout = 120_000,
): Promise<{ code: number; out: string }> {
  const env = Object.fromEntries(
    Object.entries(process.env).filter(([k]) => !/^(npm_|VITEST|TEST$|NODE_ENV$)/i.test(k)),
  );
  return new Promise((resolve) => {
    execFile(
      file,
      args,
      { cwd, env, timeout, maxBuffer: 16 * 1024 * 1024 },
      (err, stdout, stderr) => {
        const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
        // Without ANSI colours, for the assertions on the output.
        resolve({ code, out: stripVTControlCharacters(`${stdout}\n${stderr}`) });
      },
    );
  });
}

const versionOf = (pkg: string) =>
  (
    JSON.parse(readFileSync(join(PACKAGE_ROOT, 'node_modules', pkg, 'package.json'), 'utf8')) as {
      version: string;
    }
  ).version;

/** docs/in-process.md's first TypeScript example, as the user would paste it. */
function docsExample(): string {
  const doc = readFileSync(join(PACKAGE_ROOT, 'docs', 'in-process.md'), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(doc)?.[1];
  if (!block?.includes('createTestIssuer')) throw new Error('docs/in-process.md lost its example');
  return block;
}

beforeAll(async () => {
  if (!existsSync(join(PACKAGE_ROOT, 'dist', 'src', 'index.d.ts')))
    throw new Error('dist/ is missing: run `npm run build` (npm test does it)');
  project = mkdtempSync(join(tmpdir(), 'oidc-issuer-package-'));
  const packed = await run(
    'npm',
    ['pack', '--ignore-scripts', '--json', '--pack-destination', project],
    PACKAGE_ROOT,
  );
  expect(packed.code, packed.out).toBe(0);
  const [report] = JSON.parse(packed.out.slice(packed.out.indexOf('['))) as { filename: string }[];
  tarball = join(project, report!.filename);

  const consumer = join(project, 'consumer');
  mkdirSync(consumer);
  writeFileSync(
    join(consumer, 'package.json'),
    JSON.stringify({ name: 'consumer', private: true, type: 'module' }),
  );
  writeFileSync(
    join(consumer, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2023',
        module: 'NodeNext',
        moduleResolution: 'NodeNext',
        strict: true,
        noEmit: true,
        skipLibCheck: false,
        types: ['node'],
      },
      include: ['*.ts'],
    }),
  );
  writeFileSync(join(consumer, 'api.test.ts'), docsExample());
  writeFileSync(
    join(consumer, 'keys.test.ts'),
    `import { afterAll, expect, it } from 'vitest';
import { createTestIssuer, type TestIssuer } from 'oidc-issuer';

const issuer: TestIssuer = await createTestIssuer({ demo: false, users: [{ username: 'u' }] });
afterAll(() => issuer.stop());

it('revokes the key activeKid() names', async () => {
  const kid: string = issuer.activeKid();
  await issuer.revokeKey(kid);
  expect((await issuer.jwks()).keys.map((k) => k.kid)).not.toContain(kid);
});
`,
  );
  const installed = await run(
    'npm',
    [
      'install',
      '--no-audit',
      '--no-fund',
      '--prefer-offline',
      tarball,
      `vitest@${versionOf('vitest')}`,
      `jose@${versionOf('jose')}`,
      `typescript@${versionOf('typescript')}`,
      `@types/node@${versionOf('@types/node')}`,
    ],
    consumer,
    INSTALL_TIMEOUT_MS,
  );
  expect(installed.code, installed.out).toBe(0);
}, INSTALL_TIMEOUT_MS + 60_000);

afterAll(() => {
  if (project) rmSync(project, { recursive: true, force: true });
});

describe('the npm package in a fresh project', () => {
  it('holds the bundle, the types, the views, the Lua scripts and the README, and no tests or sources', () => {
    const installed = join(project, 'consumer', 'node_modules', 'oidc-issuer');
    for (const file of [
      'dist/bundle/index.js',
      'dist/bundle/main.js',
      'dist/src/index.d.ts',
      'views',
      'README.md',
      ...readdirSync(join(PACKAGE_ROOT, 'lua'), { recursive: true, encoding: 'utf8' }).map(
        (f) => `lua/${f}`,
      ),
    ]) {
      expect(existsSync(join(installed, file)), file).toBe(true);
    }
    // dist/src/*.js is tsc's unbundled copy, for this project's tests and bench only.
    for (const file of ['src', 'test', 'dist/test', 'dist/src/index.js', 'tsconfig.json']) {
      expect(existsSync(join(installed, file)), file).toBe(false);
    }
  });

  it('type-checks with skipLibCheck: false', async () => {
    const consumer = join(project, 'consumer');
    const tsc = join(consumer, 'node_modules', 'typescript', 'bin', 'tsc');
    const checked = await run(process.execPath, [tsc, '-p', '.'], consumer, 180_000);
    expect(checked.out.trim()).toBe('');
    expect(checked.code).toBe(0);
  }, 200_000);

  it('runs a vitest suite against createTestIssuer()', async () => {
    const consumer = join(project, 'consumer');
    const vitest = join(consumer, 'node_modules', 'vitest', 'vitest.mjs');
    const tested = await run(process.execPath, [vitest, 'run'], consumer, 120_000);
    expect(tested.code, tested.out).toBe(0);
    expect(tested.out).toMatch(/Tests\s+\S*\s*5 passed/);
  }, 150_000);
});
