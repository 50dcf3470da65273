import { createPrivateKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { filesUnder } from './support/files.ts';
import { eventually, startStack } from './support/processes.ts';

/**
 * How the key's private part (the JWK `d`: RSA private exponent, EC scalar) would look inside any
 * base64 text, at each of the three byte alignments, and as hex. Public parts (which certificates
 * rightly carry) are left out, so a match is a real leak.
 */
function fragments(pem: string): string[] {
  const d = Buffer.from(createPrivateKey(pem).export({ format: 'jwk' }).d!, 'base64url');
  return [0, 1, 2].map((shift) => d.subarray(3 + shift, 27 + shift).toString('base64').slice(0, 28)).concat(d.subarray(4, 20).toString('hex'));
}

describe('private keys never leak', () => {
  it('are absent from events, logs, list and detail answers, the table and every other file, after issuance, deployment and renewal', async () => {
    const home = mkdtempSync(join(tmpdir(), 'certops-keys-'));
    const target = join(home, 'targets', 'web');
    // Debug logging: the most a misconfigured production could print.
    const stack = await startStack(home, { POWERTOOLS_LOG_LEVEL: 'DEBUG', CERTOPS_VERIFY_ATTEMPTS: '1' });
    try {
      const token = readFileSync(stack.tokenFile, 'utf8').trim();
      const api = async (method: string, path: string, body?: unknown) => {
        const res = await fetch(`${stack.url}${path}`, { method, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: body === undefined ? undefined : JSON.stringify(body) });
        return { status: res.status, text: await res.text() };
      };
      await api('POST', '/targets', { name: 'web', type: 'filesystem', directory: target });
      const delivered = JSON.parse((await api('POST', '/certificates', { commonName: 'keys.example.com', returnPrivateKey: true, keyAlgorithm: 'RSA_2048' })).text);
      expect(delivered.privateKeyPem).toMatch(/BEGIN PRIVATE KEY/);
      const kept = JSON.parse((await api('POST', '/certificates', { commonName: 'kept.example.com', targets: ['web'] })).text);
      expect(kept.privateKeyPem).toBeUndefined();
      const deployedKey = await eventually(async () => readFileSync(join(target, 'privkey.pem'), 'utf8'), 'the deployment');
      // The deployment holds the certificate's lock until it has finished: a renewal asked meanwhile is refused (409), so ask until it starts.
      const renewed = await eventually(async () => {
        const r = await api('POST', `/certificates/${kept.certificateId}/renew`);
        return r.status === 202 && JSON.parse(r.text);
      }, 'the renewal to start', 30_000, 200);
      await eventually(async () => (await api('GET', `/certificates/${kept.certificateId}`)).text.includes('"superseded"'), 'the renewal', 30_000);
      const renewedKey = readFileSync(join(target, 'privkey.pem'), 'utf8');
      expect(renewedKey).not.toBe(deployedKey);
      expect(renewed.executionName).toBeDefined();

      const secrets = [delivered.privateKeyPem, deployedKey, renewedKey].flatMap(fragments);
      // The detector finds a key where one is: each PEM contains one of its own fragments.
      for (const pem of [delivered.privateKeyPem, deployedKey, renewedKey]) expect(fragments(pem).some((f) => pem.replace(/-----[^-]+-----|\s/g, '').includes(f))).toBe(true);
      const answers = [(await api('GET', '/certificates')).text, (await api('GET', `/certificates/${delivered.certificateId}`)).text, (await api('GET', `/certificates/${kept.certificateId}`)).text, (await api('GET', `/requests/${kept.requestId}`)).text, (await api('GET', '/reports/inventory')).text];
      const places: [string, string][] = [
        ...answers.map((a, i) => [`API answer ${i}`, a] as [string, string]),
        ['logs', stack.output()],
        // Everything on disk (the vault's sealed keys are in the table's files) but the deployment target (where keys are meant to go).
        ...filesUnder(home).filter((f) => !f.startsWith(target)).map((f) => [relative(home, f), readFileSync(f).toString('latin1')] as [string, string]),
      ];
      expect(places.some(([name]) => name.startsWith('dynamodb'))).toBe(true);
      expect(places.some(([name]) => name.startsWith('siem'))).toBe(true);
      for (const [name, content] of places) {
        expect(content.includes('PRIVATE KEY'), name).toBe(false);
        for (const s of secrets) expect(content.includes(s), `${name} holds key material`).toBe(false);
      }
    } finally {
      await stack.stop();
    }
  });
});
