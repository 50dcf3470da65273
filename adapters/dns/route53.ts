import { ChangeResourceRecordSetsCommand, ListResourceRecordSetsCommand, type Route53Client } from '@aws-sdk/client-route-53';
import type { DnsTxtRecords } from '../../shared/ports.ts';

/** Route 53 quotes each TXT string (its API's presentation form). */
const quoted = (value: string) => `"${value}"`;
const fqdn = (name: string) => `${name.replace(/\.$/, '')}.`;
const TTL_S = 60;

/**
 * TXT records in a Route 53 hosted zone (dns-01 on AWS). A name's TXT values are one record set
 * there, so a value is added to those already set (an order for a name and its wildcard proves
 * both at one name) and removing takes out that value alone (the set goes with its last one). The role allows only TXT changes under
 * `_acme-challenge.` names of the zones the deployment names (serverless.yml).
 */
export class Route53TxtRecords implements DnsTxtRecords {
  constructor(private readonly route53: Route53Client, private readonly hostedZoneId: string) {}

  private async current(name: string): Promise<string[]> {
    const out = await this.route53.send(new ListResourceRecordSetsCommand({ HostedZoneId: this.hostedZoneId, StartRecordName: fqdn(name), StartRecordType: 'TXT', MaxItems: 1 }));
    const set = out.ResourceRecordSets?.[0];
    return set && set.Name?.toLowerCase() === fqdn(name).toLowerCase() && set.Type === 'TXT' ? (set.ResourceRecords ?? []).map((r) => r.Value!) : [];
  }

  private change(action: 'UPSERT' | 'DELETE', name: string, values: string[]) {
    return this.route53.send(new ChangeResourceRecordSetsCommand({
      HostedZoneId: this.hostedZoneId,
      ChangeBatch: { Comment: 'certops dns-01', Changes: [{ Action: action, ResourceRecordSet: { Name: fqdn(name), Type: 'TXT', TTL: TTL_S, ResourceRecords: values.map((Value) => ({ Value })) } }] },
    }));
  }

  async put(name: string, value: string): Promise<void> {
    const values = await this.current(name);
    if (!values.includes(quoted(value))) await this.change('UPSERT', name, [...values, quoted(value)]);
  }

  async remove(name: string, value: string): Promise<void> {
    const values = await this.current(name);
    if (!values.includes(quoted(value))) return;
    const rest = values.filter((v) => v !== quoted(value));
    await (rest.length ? this.change('UPSERT', name, rest) : this.change('DELETE', name, values));
  }
}
