import { describe, expect, it } from 'vitest';
import { matches } from '../../local/event-pattern.ts';

const event = {
  source: 'certops.issuance',
  'detail-type': 'certificate.issued',
  detail: {
    commonName: 'api.example.com',
    environment: 'Prod',
    validityDays: 90,
    targets: ['web-01', 'web-02'],
    none: [],
    ip: '10.0.3.7',
    nested: { level: { deep: 'yes' } },
    nothing: null,
  },
};

const cases: [string, Record<string, unknown>, boolean][] = [
  ['exact value', { source: ['certops.issuance'] }, true],
  ['exact value, other', { source: ['certops.renewal'] }, false],
  ['array as any of', { source: ['certops.renewal', 'certops.issuance'] }, true],
  ['several fields all must match', { source: ['certops.issuance'], 'detail-type': ['renewal.failed'] }, false],
  ['missing field', { detail: { absent: ['x'] } }, false],
  ['prefix', { source: [{ prefix: 'certops.' }] }, true],
  ['prefix, other', { source: [{ prefix: 'aws.' }] }, false],
  ['prefix ignoring case', { detail: { environment: [{ prefix: { 'equals-ignore-case': 'PR' } }] } }, true],
  ['suffix', { detail: { commonName: [{ suffix: '.example.com' }] } }, true],
  ['suffix, other', { detail: { commonName: [{ suffix: '.example.org' }] } }, false],
  ['suffix ignoring case', { detail: { commonName: [{ suffix: { 'equals-ignore-case': '.EXAMPLE.COM' } }] } }, true],
  ['anything-but value', { source: [{ 'anything-but': 'certops.renewal' }] }, true],
  ['anything-but value, excluded', { source: [{ 'anything-but': 'certops.issuance' }] }, false],
  ['anything-but list', { source: [{ 'anything-but': ['a', 'certops.issuance'] }] }, false],
  ['anything-but prefix', { source: [{ 'anything-but': { prefix: 'aws.' } }] }, true],
  ['anything-but prefix, excluded', { source: [{ 'anything-but': { prefix: 'certops.' } }] }, false],
  ['anything-but suffix', { detail: { commonName: [{ 'anything-but': { suffix: '.org' } }] } }, true],
  ['anything-but suffix, excluded', { detail: { commonName: [{ 'anything-but': { suffix: '.com' } }] } }, false],
  ['anything-but on a missing field', { detail: { absent: [{ 'anything-but': 'x' }] } }, false],
  ['numeric range', { detail: { validityDays: [{ numeric: ['>', 30, '<=', 90] }] } }, true],
  ['numeric range, outside', { detail: { validityDays: [{ numeric: ['>', 90] }] } }, false],
  ['numeric equals', { detail: { validityDays: [{ numeric: ['=', 90] }] } }, true],
  ['numeric on a string', { detail: { commonName: [{ numeric: ['>', 0] }] } }, false],
  ['exists true', { detail: { targets: [{ exists: true }] } }, true],
  ['exists true, missing', { detail: { absent: [{ exists: true }] } }, false],
  ['exists false, missing', { detail: { absent: [{ exists: false }] } }, true],
  ['exists false, present', { detail: { commonName: [{ exists: false }] } }, false],
  ['exists true, empty array', { detail: { none: [{ exists: true }] } }, false],
  ['exists false, empty array', { detail: { none: [{ exists: false }] } }, true],
  ['equals-ignore-case', { detail: { environment: [{ 'equals-ignore-case': 'PROD' }] } }, true],
  ['equals-ignore-case, other', { detail: { environment: [{ 'equals-ignore-case': 'staging' }] } }, false],
  ['wildcard', { detail: { commonName: [{ wildcard: '*.example.*' }] } }, true],
  ['wildcard, other', { detail: { commonName: [{ wildcard: 'www.*' }] } }, false],
  ['cidr', { detail: { ip: [{ cidr: '10.0.0.0/16' }] } }, true],
  ['cidr, outside', { detail: { ip: [{ cidr: '10.1.0.0/16' }] } }, false],
  ['$or, one branch', { $or: [{ source: ['x'] }, { detail: { validityDays: [90] } }] }, true],
  ['$or, no branch', { $or: [{ source: ['x'] }, { detail: { validityDays: [1] } }] }, false],
  ['nested fields', { detail: { nested: { level: { deep: ['yes'] } } } }, true],
  ['nested fields, other', { detail: { nested: { level: { deep: ['no'] } } } }, false],
  ['nested pattern on a leaf', { source: { inner: ['x'] } }, false],
  ['inside arrays: any element', { detail: { targets: ['web-02'] } }, true],
  ['inside arrays: no element', { detail: { targets: ['web-03'] } }, false],
  ['null value', { detail: { nothing: [null] } }, true],
];

describe('EventBridge pattern matching', () => {
  it.each(cases)('%s', (_name, pattern, expected) => {
    expect(matches(pattern, event)).toBe(expected);
  });
});
