import { connect as tcpConnect, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import type { SendResult } from './http-sink.ts';
import { octetCounted } from '../../shared/syslog.ts';

export interface SyslogOptions {
  host: string;
  port: number;
  tls: boolean;
  caPem?: string;
  /** Client certificate and key for mutual TLS; the key comes from the environment or Secrets Manager. */
  certPem?: string;
  keyPem?: string;
  timeoutMs: number;
  appName?: string;
}

/** Syslog over TCP or TLS, one connection per batch, every message octet-counted. */
export class SyslogSink {
  constructor(private readonly options: SyslogOptions) {}

  send(messages: string[]): Promise<SendResult> {
    return new Promise((resolve) => {
      let settled = false;
      const done = (r: SendResult) => {
        if (settled) return;
        settled = true;
        resolve(r);
      };
      const socket: Socket = this.options.tls
        ? tlsConnect({ host: this.options.host, port: this.options.port, ca: this.options.caPem ? [this.options.caPem] : undefined, cert: this.options.certPem, key: this.options.keyPem, servername: this.options.host })
        : tcpConnect({ host: this.options.host, port: this.options.port });
      socket.setTimeout(this.options.timeoutMs, () => socket.destroy(new Error(`no progress within ${this.options.timeoutMs} ms`)));
      socket.once(this.options.tls ? 'secureConnect' : 'connect', () => {
        socket.end(messages.map(octetCounted).join(''), () => done({ ok: true }));
      });
      socket.on('error', (err) => done({ ok: false, error: `${this.options.host}:${this.options.port}: ${err.message}` }));
    });
  }
}
