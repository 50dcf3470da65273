import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, Route53Client, type ResourceRecordSet } from '@aws-sdk/client-route-53';
import { describe, expect, it } from 'vitest';
import { Route53TxtRecords } from '../../adapters/dns/route53.ts';
import { ISSUING_FUNCTIONS, recordedMock } from '../support/recorded-mock.ts';

/**
 * dns-01 on AWS: TXT records in a Route 53 hosted zone (the API mocked with the SDK's mock
 * library, as a zone that keeps its record sets and lists them in Route 53's order).
 */
describe('dns-01 records in Route 53', () => {
  function zone() {
    const sets = new Map<string, ResourceRecordSet>();
    const route53 = recordedMock(Route53Client, 'route53', ISSUING_FUNCTIONS);
    route53.on(ListResourceRecordSetsCommand).callsFake((input) => {
      const after = [...sets.values()].filter((s) => `${s.Name}` >= input.StartRecordName).sort((a, b) => a.Name!.localeCompare(b.Name!));
      return { ResourceRecordSets: after.slice(0, input.MaxItems ?? 100), IsTruncated: false, MaxItems: input.MaxItems };
    });
    route53.on(ChangeResourceRecordSetsCommand).callsFake((input) => {
      // A batch is all or nothing: DELETE only a set as it stands (values, TTL and all), CREATE only a set that is not there.
      const after = new Map(sets);
      for (const change of input.ChangeBatch.Changes) {
        const set = change.ResourceRecordSet;
        const refused = change.Action === 'DELETE' ? JSON.stringify(after.get(set.Name)) !== JSON.stringify(set) : change.Action === 'CREATE' && after.has(set.Name);
        if (refused) throw Object.assign(new Error(`${change.Action} of ${set.Name} refused`), { name: 'InvalidChangeBatch' });
        if (change.Action === 'DELETE') after.delete(set.Name);
        else after.set(set.Name, set);
      }
      sets.clear();
      for (const [name, set] of after) sets.set(name, set);
      changes.set(`/change/C${changes.size + 1}`, 0);
      return { ChangeInfo: { Id: `/change/C${changes.size}`, Status: 'PENDING', SubmittedAt: new Date() } };
    });
    // Each change reaches every name server after `syncAfter` looks at it (GetChange).
    const changes = new Map<string, number>();
    const looks = { syncAfter: 1 };
    route53.on(GetChangeCommand).callsFake((input) => {
      const seen = (changes.get(input.Id) ?? 0) + 1;
      changes.set(input.Id, seen);
      return { ChangeInfo: { Id: input.Id, Status: seen >= looks.syncAfter ? 'INSYNC' : 'PENDING', SubmittedAt: new Date() } };
    });
    const slept: number[] = [];
    const records = new Route53TxtRecords(new Route53Client({ region: 'us-east-1', credentials: { accessKeyId: 'x', secretAccessKey: 'x' } }), 'Z0123456789ABC', async (ms) => void slept.push(ms));
    return { sets, route53, records, looks, slept };
  }

  it('answers a value put once every name server has it (GetChange INSYNC), and says so when Route 53 never gets there', async () => {
    const { route53, records, looks, slept } = zone();
    looks.syncAfter = 3;
    await records.put('_acme-challenge.sync.example.com', 'v');
    expect(route53.commandCalls(GetChangeCommand).map((c) => c.args[0].input.Id)).toEqual(['/change/C1', '/change/C1', '/change/C1']);
    expect(slept).toEqual([2000, 2000]);
    looks.syncAfter = Infinity;
    await expect(records.put('_acme-challenge.sync.example.com', 'w')).rejects.toThrow(/Route 53 change \/change\/C2 of _acme-challenge\.sync\.example\.com was not in sync on every name server after 120 s/);
  });

  it('adds a name\'s values to one TXT record set (a name and its wildcard prove at one name), and takes out one value at a time', async () => {
    const { sets, route53, records } = zone();
    await records.put('_acme-challenge.shop.example.com', 'first');
    await records.put('_acme-challenge.shop.example.com', 'second');
    // A value already there changes nothing (an answer made again after a crash).
    await records.put('_acme-challenge.shop.example.com', 'second');
    expect(sets.get('_acme-challenge.shop.example.com.')).toEqual({ Name: '_acme-challenge.shop.example.com.', Type: 'TXT', TTL: 60, ResourceRecords: [{ Value: '"first"' }, { Value: '"second"' }] });
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(2);
    for (const call of route53.commandCalls(ChangeResourceRecordSetsCommand)) expect(call.args[0].input.HostedZoneId).toBe('Z0123456789ABC');
    // Another order's value at the same name stays until that order is done.
    await records.remove('_acme-challenge.shop.example.com', 'first');
    expect(sets.get('_acme-challenge.shop.example.com.')!.ResourceRecords).toEqual([{ Value: '"second"' }]);
    await records.remove('_acme-challenge.shop.example.com', 'second');
    expect(sets.size).toBe(0);
    // Removing what is not there asks nothing of Route 53.
    await records.remove('_acme-challenge.shop.example.com', 'second');
    expect(route53.commandCalls(ChangeResourceRecordSetsCommand)).toHaveLength(4);
  });

  it('keeps both orders\' changes when two change one name at once (each swap is atomic and tried again when it lost)', async () => {
    const { sets, records } = zone();
    await records.put('_acme-challenge.race.example.com', 'a');
    await records.put('_acme-challenge.race.example.com', 'b');
    await Promise.all([records.put('_acme-challenge.race.example.com', 'c'), records.remove('_acme-challenge.race.example.com', 'a'), records.put('_acme-challenge.race.example.com', 'd')]);
    expect(sets.get('_acme-challenge.race.example.com.')!.ResourceRecords!.map((r) => r.Value).sort()).toEqual(['"b"', '"c"', '"d"']);
  });

  it('does not take the next name\'s record set for this one\'s', async () => {
    const { sets, records } = zone();
    await records.put('_acme-challenge.b.example.com', 'b');
    await records.put('_acme-challenge.a.example.com', 'a');
    expect(sets.get('_acme-challenge.a.example.com.')!.ResourceRecords).toEqual([{ Value: '"a"' }]);
    await records.remove('_acme-challenge.c.example.com', 'c');
    expect(sets.size).toBe(2);
  });
});
