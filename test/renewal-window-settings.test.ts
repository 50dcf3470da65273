import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { renewalWindowFromEnv } from '../adapters/composition/base.ts';
import { DEFAULT_RENEWAL_WINDOW } from '../shared/renewal-window.ts';
import { cli } from './support/cli.ts';

/** CERTOPS_RENEWAL_WINDOW_DAYS and CERTOPS_RENEWAL_AT_LIFETIME: read as numbers, or refused naming the variable. */
describe('renewal window settings', () => {
  it('reads plain decimals in range, and the default when unset or empty', () => {
    expect(renewalWindowFromEnv({})).toEqual(DEFAULT_RENEWAL_WINDOW);
    expect(renewalWindowFromEnv({ CERTOPS_RENEWAL_WINDOW_DAYS: '', CERTOPS_RENEWAL_AT_LIFETIME: '' })).toEqual(DEFAULT_RENEWAL_WINDOW);
    expect(renewalWindowFromEnv({ CERTOPS_RENEWAL_WINDOW_DAYS: '2', CERTOPS_RENEWAL_AT_LIFETIME: '0' })).toEqual({ days: 2, atLifetimeFraction: 0 });
    expect(renewalWindowFromEnv({ CERTOPS_RENEWAL_WINDOW_DAYS: '0', CERTOPS_RENEWAL_AT_LIFETIME: '1' })).toEqual({ days: 0, atLifetimeFraction: 1 });
    expect(renewalWindowFromEnv({ CERTOPS_RENEWAL_WINDOW_DAYS: '7.5', CERTOPS_RENEWAL_AT_LIFETIME: '.75' })).toEqual({ days: 7.5, atLifetimeFraction: 0.75 });
  });

  it.each([
    ['CERTOPS_RENEWAL_WINDOW_DAYS', ['30d', '-1', 'NaN', 'Infinity', '0x1e', '1e3', ' 30', 'thirty', '3651', '100000000']],
    ['CERTOPS_RENEWAL_AT_LIFETIME', ['2/3', '1.5', '-0.1', '66%', 'NaN', '1e-1']],
  ] as const)('refuses a bad %s, naming it', (name, values) => {
    for (const value of values) {
      expect(() => renewalWindowFromEnv({ [name]: value }), value).toThrow(expect.objectContaining({ name: 'ValidationError', field: name, message: expect.stringMatching(new RegExp(`^${name} must be .*\\(it is "${value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\)$`)) }));
    }
  });

  it.each([
    ['CERTOPS_RENEWAL_AT_LIFETIME', '2/3', /a decimal fraction 0 <= f <= 1/],
    ['CERTOPS_RENEWAL_WINDOW_DAYS', '30d', /a number of days from 0 to 3650/],
  ])('the stack refuses to start with %s=%s, in one line, exit 2', async (name, value, must) => {
    const home = mkdtempSync(join(tmpdir(), 'certops-badwindow-'));
    const started = await cli(['serve'], { CERTOPS_HOME: home, PORT: '0', [name]: value });
    expect(started.code).toBe(2);
    const lines = started.stderr.trim().split('\n');
    expect(lines).toEqual([expect.stringMatching(new RegExp(`^certops: ${name} must be `))]);
    expect(lines[0]).toMatch(must);
  });
});
