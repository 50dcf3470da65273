import { describe, expect, it } from 'vitest';
import { ValidationError } from '../../shared/errors.ts';
import { readCsr } from '../../shared/x509/csr.ts';
import { createCsr, extensionRequest, generateKeyPair, signCsr, subjectAltName } from '../../shared/x509/keys.ts';

describe('a CSR\'s names, as readCsr gives them to compare with a request\'s', () => {
  const keys = generateKeyPair('EC_P256');
  const csrFor = async (names: string[]) => readCsr(await createCsr('EC_P256', await keys, 'csr.example.com', names));

  it('are canonical: lower case, without the trailing dot (RFC 1034 3.1), each once', async () => {
    expect((await csrFor(['td.example.com.', 'TD.Example.COM', 'www.td.example.com'])).names).toEqual(['td.example.com', 'www.td.example.com']);
  });

  it('write an IPv4-mapped IPv6 address as its IPv4 address (RFC 4291 2.5.5.2), other IPv6 in RFC 5952 form', async () => {
    expect((await csrFor(['m.example.com', '::ffff:192.0.2.7', '2001:DB8:0:0:0:0:0:1'])).names).toEqual(['m.example.com', '192.0.2.7', '2001:db8::1']);
  });

  const refusal = async (attributes: Uint8Array[]) => readCsr(await signCsr('EC_P256', await keys, 'csr.example.com', attributes)).then(() => undefined, (err: ValidationError) => err);

  it('refuse a request repeating the subjectAltName extension, naming it (RFC 5280 4.2), where the second was ignored', async () => {
    const err = await refusal([extensionRequest([subjectAltName(['dup.example.com']), subjectAltName(['admin.example.net'])])]);
    expect(err).toBeInstanceOf(ValidationError);
    expect(err).toMatchObject({ field: 'csr', message: 'csr carries the subjectAltName extension more than once (RFC 5280 4.2: MUST NOT)' });
  });

  it('refuse a request carrying two extensionRequest attributes (RFC 2985 5.4.2), where the last one won', async () => {
    const err = await refusal([extensionRequest([subjectAltName(['one.example.com'])]), extensionRequest([subjectAltName(['two.example.net'])])]);
    expect(err).toMatchObject({ field: 'csr', message: 'csr carries the extensionRequest attribute more than once (RFC 2985 5.4.2: single-valued)' });
  });

  it('refuse a name that is no DNS name or IP address, on the csr field', async () => {
    const err = await refusal([extensionRequest([subjectAltName(['nul.example.com\u0000.evil.example.org'])])]);
    expect(err).toMatchObject({ field: 'csr', message: expect.stringMatching(/is not a DNS name or IP address/) });
  });
});
