import { ValidationError } from './errors.ts';

/** The events a person is told about (what `notifications.routes[].events` may name). */
export const NOTIFIABLE = ['certificate.expiring', 'renewal.failed', 'deployment.failed', 'request.pending_approval', 'ct.unauthorized_certificate', 'ct.log_misbehaviour', 'siem.sink_failing'] as const;
export type NotifiableType = (typeof NOTIFIABLE)[number];
export const NOTICE_SEVERITIES = ['info', 'low', 'medium', 'high', 'critical'] as const;
export type NoticeSeverity = (typeof NOTICE_SEVERITIES)[number];
const CHANNEL_TYPES = ['email', 'slack', 'teams', 'pagerduty', 'webhook', 'sns', 'jira', 'servicenow'] as const;

/**
 * Where notices go. Secrets (webhook URLs that carry a token, the PagerDuty routing key, the
 * SMTP password, the webhook's HMAC key) are named as `env:NAME` or `secretsmanager:ID`, never
 * written in the configuration (it is in the table, its history and the audit trail).
 */
export type ChannelConfig =
  /** Email through an SMTP server (`smtpHost`), or through Amazon SES in `sesRegion` (on AWS). */
  | { name: string; type: 'email'; to: string[]; from: string; smtpHost?: string; smtpPort: number; smtpSecure: boolean; smtpUser?: string; smtpPasswordRef?: string; sesRegion?: string }
  | { name: string; type: 'sns'; topicArn: string }
  /** A ticket: a Jira issue in `projectKey` (REST API v3), or a ServiceNow incident (Table API). */
  | { name: string; type: 'jira'; baseUrl: string; projectKey: string; issueType: string; user: string; tokenRef: string }
  | { name: string; type: 'servicenow'; instanceUrl: string; user: string; passwordRef: string }
  | { name: string; type: 'slack' | 'teams'; urlRef: string }
  | { name: string; type: 'pagerduty'; routingKeyRef: string; eventsUrl: string }
  | { name: string; type: 'webhook'; url: string; secretRef: string };

/** What a person is told: what happened, to which certificate, what to do, and where to look. */
export interface Notice {
  /** The event it tells of: one notice per event and channel. */
  eventId: string;
  eventType: NotifiableType;
  severity: NoticeSeverity;
  /** One line: the subject of an email, the summary of a PagerDuty incident. */
  title: string;
  /** What happened, in a sentence or two. */
  what: string;
  /** What to do about it. */
  action: string;
  /** The dashboard page that shows it. */
  link: string;
  occurredAt: string;
  /** Whose it is, from the inventory or the request: what routes choose by. */
  owner?: string;
  environment?: string;
  certificate?: { id: string; subject: string; names: string[]; notAfter: string };
}

/** A rule choosing channels for notices: by event type, least severity, owner and environment (each empty: any). */
export interface NotificationRoute {
  /** `daily`: its notices are kept and sent once a day, together, instead of one by one. */
  delivery: 'immediate' | 'daily';
  events: NotifiableType[];
  minSeverity: NoticeSeverity;
  owners: string[];
  environments: string[];
  channels: string[];
}

export interface NotificationConfig {
  /** The dashboard's address for the links in notices (else the suite's base URL). */
  dashboardUrl?: string;
  channels: ChannelConfig[];
  routes: NotificationRoute[];
}

const SECRET_REF = /^((env:)?[A-Z_][A-Z0-9_]{0,127}|secretsmanager:[A-Za-z0-9/_+=.@:-]{1,512})$/;
/** The runtime's own credentials and settings are not a channel's secret to send anywhere (AWS_SESSION_TOKEN on Lambda). */
const RUNTIME_VARIABLES = /^(env:)?(AWS_|LAMBDA_|CERTOPS_|NODE_|PATH$|HOME$)/;
/** Where a channel may send: https, or http to this machine only (a local relay, a test receiver). */
export const SERVICE_URL = /^(https:\/\/[^\s/]+|http:\/\/(127\.0\.0\.1|localhost|\[::1\])(:\d+)?)(\/[^\s]*)?$/;
const EMAIL = /^[^\s@<>]+@[^\s@<>]+$/;

/**
 * `notifications` of the suite configuration, checked field by field.
 * @throws ValidationError naming the field (`notifications.channels.0.urlRef`) and where it is (`at`).
 */
export function parseNotifications(value: unknown, at: (field: string) => string): NotificationConfig {
  if (value === undefined || value === null) return { channels: [], routes: [] };
  const fail = (field: string, message: string): never => {
    throw new ValidationError(`${at(`notifications.${field}`)}: notifications.${field} ${message}`, `notifications.${field}`);
  };
  if (typeof value !== 'object' || Array.isArray(value)) fail('', 'must be a mapping');
  const root = value as Record<string, unknown>;
  for (const k of Object.keys(root)) if (!['dashboardUrl', 'channels', 'routes'].includes(k)) fail(k.slice(0, 40), 'is not known (dashboardUrl, channels, routes)');
  if (root.dashboardUrl !== undefined && (typeof root.dashboardUrl !== 'string' || !/^https?:\/\/[^\s]+$/.test(root.dashboardUrl))) fail('dashboardUrl', 'must be an http(s) URL');
  const list = (v: unknown, field: string): unknown[] => (v === undefined ? [] : Array.isArray(v) ? v : fail(field, 'must be a list'));
  const strings = (v: unknown, field: string): string[] => list(v, field).map((s, i) => (typeof s === 'string' && s ? s : fail(`${field}.${i}`, 'must be a non-empty string')));
  const secret = (r: Record<string, unknown>, field: string, key: string): string => {
    const v = r[key];
    if (typeof v !== 'string' || !SECRET_REF.test(v)) fail(`${field}.${key}`, 'must name where the secret is (env:NAME or secretsmanager:ID), not hold it');
    if (RUNTIME_VARIABLES.test(v as string)) fail(`${field}.${key}`, 'may not name the runtime\'s own variables (AWS_*, LAMBDA_*, CERTOPS_*, NODE_*, PATH, HOME)');
    return v as string;
  };
  const url = (r: Record<string, unknown>, field: string, key: string, what: string): string => {
    const v = r[key];
    return typeof v === 'string' && SERVICE_URL.test(v) ? v.replace(/\/+$/, '') : fail(`${field}.${key}`, `must be ${what}: an https:// URL (http:// only to this machine)`);
  };
  const names = new Set<string>();
  const channels = list(root.channels, 'channels').map((raw, i): ChannelConfig => {
    const field = `channels.${i}`;
    const r = (raw && typeof raw === 'object' ? raw : fail(field, 'must be a mapping')) as Record<string, unknown>;
    const name = typeof r.name === 'string' && /^[a-z0-9-]{1,64}$/.test(r.name) ? r.name : fail(`${field}.name`, 'must be lower-case letters, digits and dashes');
    if (names.has(name)) fail(`${field}.name`, `repeats ${name}`);
    names.add(name);
    const type = (CHANNEL_TYPES as readonly string[]).includes(String(r.type)) ? (r.type as ChannelConfig['type']) : fail(`${field}.type`, `must be one of ${CHANNEL_TYPES.join(', ')}`);
    switch (type) {
      case 'email': {
        const to = strings(r.to, `${field}.to`);
        if (!to.length) fail(`${field}.to`, 'must name at least one address');
        to.forEach((a, j) => EMAIL.test(a) || fail(`${field}.to.${j}`, 'must be an email address'));
        const from = typeof r.from === 'string' && EMAIL.test(r.from) ? r.from : fail(`${field}.from`, 'must be an email address');
        if ((r.smtpHost === undefined) === (r.sesRegion === undefined)) fail(`${field}.smtpHost`, 'or sesRegion is required, not both (an SMTP server, or Amazon SES)');
        const smtpHost = r.smtpHost === undefined ? undefined : typeof r.smtpHost === 'string' && r.smtpHost ? r.smtpHost : fail(`${field}.smtpHost`, 'must be a host name');
        const sesRegion = r.sesRegion === undefined ? undefined : typeof r.sesRegion === 'string' && /^[a-z]{2}(-[a-z]+)+-\d$/.test(r.sesRegion) ? r.sesRegion : fail(`${field}.sesRegion`, 'must be an AWS region');
        const smtpPort = r.smtpPort === undefined ? 587 : Number.isInteger(r.smtpPort) && (r.smtpPort as number) > 0 && (r.smtpPort as number) < 65536 ? (r.smtpPort as number) : fail(`${field}.smtpPort`, 'must be a port number');
        if (r.smtpSecure !== undefined && typeof r.smtpSecure !== 'boolean') fail(`${field}.smtpSecure`, 'must be true or false');
        if (r.smtpUser !== undefined && typeof r.smtpUser !== 'string') fail(`${field}.smtpUser`, 'must be a string');
        return { name, type, to, from, smtpHost, smtpPort, smtpSecure: r.smtpSecure === true, smtpUser: r.smtpUser as string | undefined, smtpPasswordRef: r.smtpPasswordRef === undefined ? undefined : secret(r, field, 'smtpPasswordRef'), sesRegion };
      }
      case 'jira': {
        const baseUrl = url(r, field, 'baseUrl', 'the Jira site');
        const projectKey = typeof r.projectKey === 'string' && /^[A-Z][A-Z0-9_]{0,9}$/.test(r.projectKey) ? r.projectKey : fail(`${field}.projectKey`, 'must be a Jira project key (OPS)');
        const issueType = r.issueType === undefined ? 'Task' : typeof r.issueType === 'string' && r.issueType ? r.issueType : fail(`${field}.issueType`, 'must be an issue type name');
        const user = typeof r.user === 'string' && r.user ? r.user : fail(`${field}.user`, 'must name the account the API token belongs to');
        return { name, type, baseUrl, projectKey, issueType, user, tokenRef: secret(r, field, 'tokenRef') };
      }
      case 'servicenow': {
        const instanceUrl = url(r, field, 'instanceUrl', 'the instance (https://NAME.service-now.com)');
        const user = typeof r.user === 'string' && r.user ? r.user : fail(`${field}.user`, 'must name the integration user');
        return { name, type, instanceUrl, user, passwordRef: secret(r, field, 'passwordRef') };
      }
      case 'sns': {
        const topicArn = typeof r.topicArn === 'string' && /^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/.test(r.topicArn) ? r.topicArn : fail(`${field}.topicArn`, 'must be an SNS topic ARN');
        return { name, type, topicArn };
      }
      case 'slack':
      case 'teams':
        return { name, type, urlRef: secret(r, field, 'urlRef') };
      case 'pagerduty': {
        const eventsUrl = r.eventsUrl === undefined ? 'https://events.pagerduty.com/v2/enqueue' : url(r, field, 'eventsUrl', 'the Events API v2 endpoint');
        return { name, type, routingKeyRef: secret(r, field, 'routingKeyRef'), eventsUrl };
      }
      case 'webhook': {
        return { name, type, url: url(r, field, 'url', 'the receiver'), secretRef: secret(r, field, 'secretRef') };
      }
    }
  });
  const routes = list(root.routes, 'routes').map((raw, i): NotificationRoute => {
    const field = `routes.${i}`;
    const r = (raw && typeof raw === 'object' ? raw : fail(field, 'must be a mapping')) as Record<string, unknown>;
    const events = strings(r.events, `${field}.events`);
    events.forEach((e, j) => (NOTIFIABLE as readonly string[]).includes(e) || fail(`${field}.events.${j}`, `must be one of ${NOTIFIABLE.join(', ')}`));
    const minSeverity = r.minSeverity === undefined ? 'info' : (NOTICE_SEVERITIES as readonly string[]).includes(String(r.minSeverity)) ? (r.minSeverity as NoticeSeverity) : fail(`${field}.minSeverity`, `must be one of ${NOTICE_SEVERITIES.join(', ')}`);
    const chosen = strings(r.channels, `${field}.channels`);
    if (!chosen.length) fail(`${field}.channels`, 'must name at least one channel');
    chosen.forEach((c, j) => names.has(c) || fail(`${field}.channels.${j}`, `names no channel (${[...names].join(', ') || 'none configured'})`));
    const delivery = r.delivery === undefined ? 'immediate' : r.delivery === 'immediate' || r.delivery === 'daily' ? r.delivery : fail(`${field}.delivery`, 'must be immediate or daily');
    return { delivery, events: events as NotifiableType[], minSeverity, owners: strings(r.owners, `${field}.owners`), environments: strings(r.environments, `${field}.environments`), channels: chosen };
  });
  return { dashboardUrl: root.dashboardUrl as string | undefined, channels, routes };
}
