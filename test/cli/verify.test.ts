import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { cli } from '../support/cli.ts';
import { makeChain } from '../support/pki.ts';

describe('certops verify', () => {
  it('exits 0 for a valid chain, 1 with reasons for an invalid one, 2 for unusable input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'certops-verify-cli-'));
    const { root, intermediate, leaf } = await makeChain(['shop.example.com']);
    writeFileSync(join(dir, 'chain.pem'), leaf.pem + intermediate.pem);
    writeFileSync(join(dir, 'roots.pem'), root.pem);
    writeFileSync(join(dir, 'junk.pem'), 'not a certificate');
    const chain = join(dir, 'chain.pem');
    const roots = ['--roots', join(dir, 'roots.pem')];

    const ok = await cli(['verify', chain, ...roots, '--host', 'shop.example.com', '--purpose', 'serverAuth', '--json']);
    expect(ok.code).toBe(0);
    const verdict = JSON.parse(ok.stdout);
    expect(verdict).toMatchObject({ valid: true, reasons: [] });
    expect(verdict.path).toHaveLength(3);

    const wrongHost = await cli(['verify', chain, ...roots, '--host', 'evil.example.net']);
    expect(wrongHost.code).toBe(1);
    expect(wrongHost.stdout).toMatch(/^invalid\n  - hostname mismatch: evil.example.net/);

    const later = await cli(['verify', chain, ...roots, '--at', '2099-01-01T00:00:00Z', '--json']);
    expect(later.code).toBe(1);
    expect(JSON.parse(later.stdout).reasons.length).toBeGreaterThanOrEqual(3);

    const untrusted = await cli(['verify', chain, '--json']);
    expect(untrusted.code).toBe(1);
    expect(JSON.parse(untrusted.stdout).reasons[0]).toMatch(/untrusted root|incomplete chain/);

    for (const args of [['verify', join(dir, 'junk.pem')], ['verify', join(dir, 'missing.pem')], ['verify', chain, '--at', 'yesterday'], ['verify', chain, '--purpose', 'codeSigning'], ['verify']]) {
      const bad = await cli(args);
      expect(bad.code, args.join(' ')).toBe(2);
      expect(bad.stderr, args.join(' ')).toMatch(/^certops: /);
    }
  });
});
