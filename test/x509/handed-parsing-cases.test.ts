import { createPublicKey } from 'node:crypto';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BuiltInCa } from '../../adapters/built-in-ca.ts';
import { openBuiltInCa } from '../support/vault.ts';
import { eventSchemaValidator } from '../../local/event-schemas.ts';
import { ValidationError } from '../../shared/errors.ts';
import { normaliseName } from '../../shared/names.ts';
import { certificateRecord } from '../../shared/x509/certificate-record.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import { newKeyAndCsr } from '../../shared/x509/new-key.ts';
import { parseCertificate } from '../../shared/x509/parse-certificate.ts';
import { certificateBlocks } from '../../shared/x509/pem.ts';
import { verifyPemChain } from '../../shared/x509/verify-pem-chain.ts';
import { OID } from '../../shared/x509/oids.ts';
import { freshTable } from '../support/dynamo.ts';
import { ROOT, openssl } from '../support/processes.ts';

const fixture = (path: string) => readFileSync(join(ROOT, 'test/fixtures/x509-cases', path), 'utf8');

describe('parsing and issuance on the handed cases', () => {
  it('refuses a BMPString of an odd length, and a UniversalString not in fours, as parse errors (RFC 5280 4.1.2.4)', () => {
    const [leaf] = certificateBlocks(fixture('12-odd-bmpstring/chain.pem'), 'chain');
    expect(() => parseCertificate(leaf, 'leaf')).toThrow(ValidationError);
    expect(() => parseCertificate(leaf, 'leaf')).toThrow(/BMPString of an odd number of bytes/);
    // The other certificate of the batch reads on its own.
    const batch = certificateBlocks(fixture('12-odd-bmpstring/batch-with-good-cert.pem'), 'batch');
    expect(batch.map((der) => { try { return parseCertificate(der).subject; } catch { return 'refused'; } })).toContain('refused');
    expect(batch.map((der) => { try { return parseCertificate(der).subject; } catch { return 'refused'; } }).filter((s) => s !== 'refused')).toHaveLength(1);
  });

  it('keeps a negative serial\'s sign, so it never equals the positive serial with the same bytes (RFC 5280 4.1.2.2)', () => {
    const serial = (f: string) => certificateRecord(certificateBlocks(fixture(`13-negative-serial/${f}`), 'c')[0]).serialNumber;
    expect(serial('positive.pem')).toBe('C0:FF:EE:01:23:45:67:89');
    expect(serial('negative.pem')).toBe('-3F:00:11:FE:DC:BA:98:77');
    // ...and the events that name it are valid (an import of it was a 500: certificate.discovered refused by its schema).
    const record = certificateRecord(certificateBlocks(fixture('13-negative-serial/negative.pem'), 'c')[0]);
    const detail = { certificateId: record.id, subject: record.subject, serialNumber: record.serialNumber, issuer: record.issuer, notAfter: record.notAfter, fingerprintSha256: record.fingerprintSha256, discoverySource: 'import', eventId: 'e-neg', occurredAt: '2026-12-01T00:00:00.000Z', correlationId: 'e-neg' };
    expect(eventSchemaValidator()('certificate.discovered', detail)).toBeUndefined();
  });

  it('compares IPv6 addresses as addresses and writes them in RFC 5952 form (RFC 5952 4.2.3)', async () => {
    const csr = await readCsr(fixture('16-ipv6-csr-text-form/ipv6.csr'));
    expect(csr.names).toEqual(['v6.example.com', 'fd00:0:0:1::1']);
    for (const spelling of ['fd00:0:0:1::1', 'fd00:0:0:1:0:0:0:1', 'FD00::1:0:0:0:1']) expect(normaliseName(spelling, 'names')).toBe('fd00:0:0:1::1');
  });

  it('re-encodes a CSR\'s compressed EC point in the standard uncompressed form (RFC 5480 2.2), the same key', async () => {
    const pem = readFileSync(join(ROOT, 'test/fixtures/csr/compressed-p256.csr'), 'utf8');
    const csr = await readCsr(pem);
    const spki = Buffer.from(csr.spkiDer);
    expect(spki.length).toBe(91);
    expect(spki[spki.length - 65]).toBe(0x04);
    const jwk = (der: Uint8Array) => createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' }).export({ format: 'jwk' });
    const inCsr = createPublicKey(openssl(['req', '-pubkey', '-noout'], pem)).export({ format: 'jwk' }) as never;
    expect(jwk(spki)).toEqual(inCsr);
  });

  describe('a name longer than a CN may be (RFC 5280 Appendix A.1: ub-common-name 64)', () => {
    let db: Awaited<ReturnType<typeof freshTable>>;
    let ca: BuiltInCa;
    beforeAll(async () => {
      db = await freshTable();
      const home = mkdtempSync(join(tmpdir(), 'certops-cn64-'));
      ca = await openBuiltInCa(db.table, home);
    });
    afterAll(() => db.close());

    const issue = async (commonName: string, names: string[]) => {
      const key = await newKeyAndCsr('EC_P256', commonName, names);
      const issued = await ca.issue({ csrPem: key.csrPem, spkiDer: key.spkiDer, keyType: key.keyType, commonName, subjectAlternativeNames: names, validityDays: 30, profile: 'tls-server' });
      return { ...issued, parsed: parseCertificate(certificateBlocks(issued.certificatePem, 'c')[0]) };
    };

    it('goes in the SAN only: the CN is another requested name that fits, or there is none and the SAN is critical', async () => {
      const long = 'a-rather-long-service-name-for-the-payments-team.eu-west-1.example.com';
      const withShort = await issue(long, [long, 'pay.example.com']);
      expect(withShort.parsed.subjectCommonNames).toEqual(['pay.example.com']);
      expect(withShort.parsed.extensions.san.dns).toEqual([long, 'pay.example.com']);
      const alone = await issue(long, [long]);
      expect(alone.parsed.subject).toBe('');
      expect(alone.parsed.extensions.critical).toContain(OID.subjectAltName);
      // What certops issues passes its own validation for the long name.
      const v = verifyPemChain({ chainPem: alone.certificatePem + alone.chainPem, rootsPem: alone.chainPem, at: new Date(), host: long, purpose: 'serverAuth' });
      expect(v.reasons).toEqual([]);
    });
  });
});
