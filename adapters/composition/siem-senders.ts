import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { canonicalJson } from '../../shared/canonical-json.ts';
import type { SinkConfig } from '../../shared/siem-config.ts';
import { recordingCalls } from '../aws/call-recorder.ts';
import { resolveSecret } from '../secrets.ts';
import { HttpSink, type SendResult } from '../siem/http-sink.ts';
import { NdjsonFileSink } from '../siem/ndjson-file-sink.ts';
import { SyslogSink } from '../siem/syslog-sink.ts';
import type { Base } from './base.ts';

/** A sender for a SIEM sink; its secrets (HEC token, syslog client key) come from the environment or Secrets Manager; files it names are read from `base` (the configuration's folder). */
async function siemSender(sink: SinkConfig, environment: NodeJS.ProcessEnv, base: string): Promise<(records: string[]) => Promise<SendResult>> {
  const file = (path: string | undefined) => (path ? readFileSync(resolve(base, path), 'utf8') : undefined);
  const secret = (ref: string | undefined) => (ref ? resolveSecret(ref, `siem.sinks.${sink.name}`, environment, async () => recordingCalls(new (await import('@aws-sdk/client-secrets-manager')).SecretsManagerClient({}), 'secretsmanager')) : Promise.resolve(undefined));
  if (sink.type === 'http') {
    const http = new HttpSink({ url: sink.url!, protocol: sink.protocol ?? 'json', token: await secret(sink.tokenEnv), index: sink.index, gzip: sink.gzip ?? true, caPem: file(sink.caFile), timeoutMs: 10_000 });
    return (r) => http.send(r);
  }
  if (sink.type === 'syslog') {
    const syslog = new SyslogSink({ host: sink.host!, port: sink.port!, tls: sink.tls ?? false, caPem: file(sink.caFile), certPem: file(sink.clientCertFile), keyPem: await secret(sink.clientKeyEnv), timeoutMs: 10_000 });
    return (r) => syslog.send(r);
  }
  const ndjson = new NdjsonFileSink(sink.path!, sink.maxBytes);
  return (r) => ndjson.send(r);
}

/** Sends to a SIEM sink, its secrets read from the environment (or Secrets Manager) when the sender is first built. */
export function siemSenders(b: Base) {
  const senders = new Map<string, Promise<(records: string[]) => Promise<SendResult>>>();
  return {
    get sinks() {
      return b.suite.siemSinks;
    },
    send: async (sink: SinkConfig, records: string[]) => {
      const key = canonicalJson(sink);
      let sender = senders.get(key);
      if (!sender) {
        sender = siemSender(sink, b.env(), dirname(b.config.configFile));
        senders.set(key, sender);
        sender.catch(() => senders.delete(key));
      }
      return (await sender)(records);
    },
  };
}
