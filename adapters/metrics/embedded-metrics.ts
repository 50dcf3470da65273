/**
 * CloudWatch embedded metric format: one JSON line per value on stdout, which Lambda ships to
 * CloudWatch Logs and CloudWatch turns into metrics without an API call. Each value is recorded
 * with its dimensions and once more without any, so one alarm can watch every certificate.
 */
export function embeddedMetric(namespace: string, name: string, value: number, unit: string, dimensions: Record<string, string>, at: Date): string {
  return JSON.stringify({
    _aws: { Timestamp: at.getTime(), CloudWatchMetrics: [{ Namespace: namespace, Dimensions: [Object.keys(dimensions), []], Metrics: [{ Name: name, Unit: unit }] }] },
    ...dimensions,
    [name]: value,
  });
}

export type MetricWriter = (line: string) => void;

/** DaysToExpiry per managed certificate, in the certops namespace. */
export function daysToExpiryRecorder(write: MetricWriter, clock: { now(): Date }) {
  return (cert: { id: string }, days: number) => write(embeddedMetric('certops', 'DaysToExpiry', Math.round(days * 100) / 100, 'Count', { CertificateId: cert.id }, clock.now()));
}

/** One failed renewal or deployment, counted for the alarms. */
export function failureCounter(write: MetricWriter, clock: { now(): Date }, name: 'RenewalFailed' | 'DeploymentFailed') {
  return (certificateId: string) => write(embeddedMetric('certops', name, 1, 'Count', { CertificateId: certificateId }, clock.now()));
}
