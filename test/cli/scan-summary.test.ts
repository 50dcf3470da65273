import { describe, expect, it } from 'vitest';
import { scanSummary, type ScannedEndpoint } from '../../bin/scan-summary.ts';

describe('the summary a scan ends with', () => {
  it('stays a few lines for a /16 of silent addresses, naming where each certificate is served and counting findings once per certificate', () => {
    const endpoints: ScannedEndpoint[] = [];
    for (let i = 0; i < 65_534; i++) endpoints.push({ host: `10.1.${i >> 8}.${i & 255}`, port: 443, findings: [], error: i % 10 ? 'connection refused' : 'host unreachable' });
    const expired = { id: 'expired', severity: 'critical' };
    for (const host of ['10.2.0.1', '10.2.0.2', '10.2.0.3', '10.2.0.4', '::1']) {
      endpoints.push({ host, port: 443, certificateId: 'a'.repeat(32), subject: 'CN=web.example.com', findings: host === '::1' ? [{ id: 'incomplete-chain', severity: 'high' }] : [], certificateFindings: [expired] });
    }
    const lines = scanSummary(endpoints);
    expect(lines).toEqual([
      '  certificate                       subject             served at                                         findings',
      `  ${'a'.repeat(32)}  CN=web.example.com  10.2.0.1:443, 10.2.0.2:443, 10.2.0.3:443 +2 more  1 critical, 1 high`,
      '  no certificate from:',
      '     58980  connection refused',
      '      6554  host unreachable',
    ]);
  });

  it('says when no endpoint served a certificate', () => {
    expect(scanSummary([{ host: '[::1]', port: 1, findings: [], error: 'connection refused' }])).toEqual(['  no certificate was served', '  no certificate from:', '         1  connection refused']);
  });
});
