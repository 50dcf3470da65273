import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadSuiteConfig } from '../../adapters/suite-config-file.ts';

describe('the siem section of the suite configuration', () => {
  it('reads a file sink\'s relative path from the configuration\'s folder, as trustedRootsFile is, and keeps an absolute one', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'certops-config-')), 'config.yaml');
    writeFileSync(file, 'siem:\n  sinks:\n    - { name: archive, type: file, path: siem/events.ndjson, format: ocsf }\n    - { name: elsewhere, type: file, path: /var/tmp/certops.ndjson, format: seed }\n');
    const sinks = loadSuiteConfig(file, '/dev/null').siemSinks;
    expect(sinks.map((s) => [s.name, s.path])).toEqual([['archive', join(dirname(file), 'siem/events.ndjson')], ['elsewhere', '/var/tmp/certops.ndjson']]);
  });

  it('exports to a file sink at the default path when none is configured, and to none where there is no default (Lambda)', () => {
    expect(loadSuiteConfig(undefined, '/var/tmp/events.ndjson').siemSinks.map((s) => [s.type, s.path])).toEqual([['file', '/var/tmp/events.ndjson']]);
    expect(loadSuiteConfig(undefined, '').siemSinks).toEqual([]);
  });

  it('names where a sink\'s secret is and refuses the secret itself: the configuration is kept in the table and the audit trail', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'certops-config-')), 'config.yaml');
    const sink = (token: string) => `siem:\n  sinks:\n    - { name: splunk, type: http, url: https://splunk.example.com, token: "${token}" }\n`;
    for (const ref of ['env:SPLUNK_HEC_TOKEN', 'SPLUNK_HEC_TOKEN', 'secretsmanager:certops/prod/hec']) {
      writeFileSync(file, sink(ref));
      expect(loadSuiteConfig(file, '').siemSinks[0].tokenEnv).toBe(ref);
    }
    for (const secret of ['0f8c1a2e-5b6d-4c3e-9a7f-1b2c3d4e5f60', 'Splunk abcdef']) {
      writeFileSync(file, sink(secret));
      expect(() => loadSuiteConfig(file, '')).toThrow(expect.objectContaining({ field: 'siem.sinks.0.token', message: expect.stringMatching(/not hold it/) }));
    }
  });
});
