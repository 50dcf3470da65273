import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '../support/processes.ts';

/**
 * Inputs that once answered 500 or killed the process. Each must answer 4xx naming the field,
 * and the suite must still be up afterwards.
 */
describe('hostile input', () => {
  const home = mkdtempSync(join(tmpdir(), 'certops-hostile-'));
  let stack: RunningStack;
  let token: string;

  const call = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const res = await fetch(`${stack.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text.startsWith('{') ? JSON.parse(text) : text };
  };
  const aws = (target: string, body: unknown) => call('POST', '/', body, { 'x-amz-target': target, 'content-type': 'application/x-amz-json-1.1' });

  beforeAll(async () => {
    stack = await startStack(home, { CERTOPS_BUS_RETRY_MS: '10', CERTOPS_BUS_MAX_ATTEMPTS: '2' });
    token = readFileSync(stack.tokenFile, 'utf8').trim();
  });

  afterAll(async () => {
    expect(await stack.stop()).toBe(0);
  });

  it('refuses a malformed %-escape in a path, naming the parameter', async () => {
    const answer = await call('GET', '/certificates/%E0%A4%A');
    expect(answer.status).toBe(400);
    expect(answer.body.error).toMatchObject({ code: 'invalid_input', field: 'id' });
  });

  it('refuses an X-Amz-Target that names Object.prototype', async () => {
    for (const target of ['__proto__', 'constructor', 'toString', 'hasOwnProperty']) {
      const answer = await aws(target, {});
      expect(answer.status).toBeGreaterThanOrEqual(400);
      expect(answer.status).toBeLessThan(500);
    }
  });

  it('refuses ids and filters longer than a key may be', async () => {
    const long = 'a'.repeat(3000);
    for (const path of [`/certificates/${long}`, `/requests/${long}`, `/scans/${long}`, `/certificates?owner=${long}`]) {
      const answer = await call('GET', path);
      expect(answer.status, path).toBe(400);
      expect(JSON.stringify(answer.body).length).toBeLessThan(1000);
    }
    const renew = await call('POST', `/certificates/${long}/renew`);
    expect(renew.status).toBe(400);
    expect(renew.body.error.field).toBe('id');
  });

  it('refuses a nextToken that is not a key of the listing asked for', async () => {
    const forged = [
      Buffer.from('{"a":1}').toString('base64url'),
      Buffer.from('{"pk":"TOKEN#x","sk":"TOKEN"}').toString('base64url'),
      Buffer.from('[1,2]').toString('base64url'),
      'not base64 at all!',
    ];
    for (const nextToken of forged) {
      const answer = await call('GET', `/certificates?nextToken=${encodeURIComponent(nextToken)}`);
      expect(answer.status, nextToken).toBe(400);
      expect(answer.body.error.field).toBe('nextToken');
    }
    const events = await call('GET', `/events?nextToken=${forged[1]}`);
    expect(events.status).toBe(400);
  });

  it('refuses an issuer named after an Object.prototype member', async () => {
    for (const issuer of ['toString', 'constructor', '__proto__', 'hasOwnProperty']) {
      const answer = await call('POST', '/certificates', { commonName: 'proto.example.com', issuer });
      expect(answer.status, issuer).toBe(400);
      expect(answer.body.error.field).toBe('issuer');
    }
    expect((await call('GET', '/crl/toString.crl')).status).toBe(404);
  });

  it('refuses an object where a name is expected, even one whose toString is not a function (found by the fuzz test)', async () => {
    const answer = await call('POST', '/siem/replay', { sink: { toString: 'x' } });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('sink');
  });

  it('refuses an IPv6 name with a zone id', async () => {
    const answer = await call('POST', '/certificates', { commonName: 'zone.example.com', subjectAlternativeNames: ['fe80::1%eth0'] });
    expect(answer.status).toBe(400);
    expect(answer.body.error.field).toBe('subjectAlternativeNames');
  });

  it('refuses an ACM import of a region that is not one', async () => {
    for (const region of ['xx-nowhere-9', 'eu-west-1.evil.example', '../../etc']) {
      const answer = await call('POST', '/imports/acm', { regions: [region] });
      expect(answer.status, region).toBe(400);
      expect(answer.body.error.field).toBe('regions');
    }
  });

  it('survives an event whose detail has keys named after Object.prototype members', async () => {
    const bound = await call('POST', '/tokens', { name: 'fuzzer', role: 'requester', eventSources: ['com.example.fuzz'] });
    const detail = '{"constructor":"x","__proto__":{"polluted":1},"toString":"y","commonName":"proto-event.example.com"}';
    const answer = await call('POST', '/', { Entries: [{ Source: 'com.example.fuzz', DetailType: 'certificate.requested', Detail: detail }] }, { authorization: `Bearer ${bound.body.token}`, 'x-amz-target': 'AWSEvents.PutEvents' });
    expect(answer.status).toBe(200);
    expect(answer.body.FailedEntryCount).toBe(0);
    await new Promise((r) => setTimeout(r, 300));
    expect(stack.child.exitCode).toBeNull();
    expect((await call('GET', '/health')).status).toBe(200);
  });
});
