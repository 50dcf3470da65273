import { ChangeResourceRecordSetsCommand, GetChangeCommand, ListResourceRecordSetsCommand, type Change, type ResourceRecordSet, type Route53Client } from '@aws-sdk/client-route-53';
import { UpstreamError } from '../../shared/errors.ts';
import type { DnsTxtRecords } from '../../shared/ports.ts';

/** Route 53 quotes each TXT string (its API's presentation form). */
const quoted = (value: string) => `"${value}"`;
const fqdn = (name: string) => `${name.replace(/\.$/, '')}.`;
const TTL_S = 60;

/** Changes of a record set that met another change first, tried again from what is there then. */
const ATTEMPTS = 5;
/** How long a new value may take to reach every Route 53 name server (INSYNC), and how often that is asked. */
const INSYNC = { withinMs: 120_000, everyMs: 2_000 };

/**
 * TXT records in a Route 53 hosted zone (dns-01 on AWS). A name's TXT values are one record set
 * there, so a value is added to those already set (an order for a name and its wildcard proves
 * both at one name) and removing takes out that value alone (the set goes with its last one). Each
 * change deletes the set exactly as it was read and creates the new one in one atomic batch, so
 * two orders changing one name at once cannot drop each other's value: the one that read a set
 * already changed fails (InvalidChangeBatch) and reads again. A value put is answered once every
 * name server of the zone serves it (GetChange INSYNC), before the CA is told to look. The role
 * allows only TXT changes under `_acme-challenge.` names of the zones the deployment names
 * (serverless.yml), and reading changes' status. UpstreamError when a change is not in sync in time.
 */
export class Route53TxtRecords implements DnsTxtRecords {
  constructor(private readonly route53: Route53Client, private readonly hostedZoneId: string, private readonly sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))) {}

  private async current(name: string): Promise<ResourceRecordSet | undefined> {
    const out = await this.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: this.hostedZoneId, StartRecordName: fqdn(name), StartRecordType: 'TXT', MaxItems: 1 }));
    const set = out.ResourceRecordSets?.[0];
    return set && set.Name?.toLowerCase() === fqdn(name).toLowerCase() && set.Type === 'TXT' ? set : undefined;
  }

  /** Replaces the set's values by what `edit` makes of them, answering the change's id; nothing when they stay the same. */
  private async change(name: string, edit: (values: string[]) => string[]): Promise<string | undefined> {
    for (let attempt = 1; ; attempt++) {
      const read = await this.current(name);
      const values = (read?.ResourceRecords ?? []).map((r) => r.Value!);
      const next = edit(values);
      if (next.length === values.length && next.every((v, i) => v === values[i])) return;
      const changes: Change[] = [];
      if (read) changes.push({ Action: 'DELETE', ResourceRecordSet: read });
      if (next.length) changes.push({ Action: 'CREATE', ResourceRecordSet: { Name: fqdn(name), Type: 'TXT', TTL: TTL_S, ResourceRecords: next.map((Value) => ({ Value })) } });
      try {
        return (await this.route53.send(new ChangeResourceRecordSetsCommand({ HostedZoneId: this.hostedZoneId, ChangeBatch: { Comment: 'certops dns-01', Changes: changes } }))).ChangeInfo?.Id;
      } catch (err) {
        if ((err as Error).name !== 'InvalidChangeBatch' || attempt === ATTEMPTS) throw err;
      }
    }
  }

  async put(name: string, value: string): Promise<void> {
    const id = await this.change(name, (values) => (values.includes(quoted(value)) ? values : [...values, quoted(value)]));
    if (!id) return;
    for (let waited = 0; ; waited += INSYNC.everyMs) {
      const { ChangeInfo } = await this.route53.send(new GetChangeCommand({ Id: id }));
      if (ChangeInfo?.Status === 'INSYNC') return;
      if (waited >= INSYNC.withinMs) throw new UpstreamError(`Route 53 change ${id} of ${name} was not in sync on every name server after ${INSYNC.withinMs / 1000} s`, 'dns');
      await this.sleep(INSYNC.everyMs);
    }
  }

  async remove(name: string, value: string): Promise<void> {
    await this.change(name, (values) => values.filter((v) => v !== quoted(value)));
  }
}
