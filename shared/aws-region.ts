import { ValidationError } from './errors.ts';

/**
 * An AWS region name as the partitions spell them (us-east-1, ap-southeast-5, us-gov-west-1,
 * cn-north-1, eu-isoe-west-1): a geography, a direction and a number. Whether the region exists
 * is for AWS to say; this only keeps names that cannot be regions from becoming endpoints.
 */
const REGION = /^(af|ap|ca|cn|eu|il|me|mx|sa|us)(-gov|-iso[a-z]?)?-[a-z]+-\d{1,2}$/;

/** The region, or a ValidationError naming `field`. */
export function awsRegion(value: string, field: string): string {
  if (!REGION.test(value)) throw new ValidationError(`${field}: ${JSON.stringify(value.slice(0, 40))} is not an AWS region name (like eu-west-1)`, field);
  return value;
}

/** True when `err` says the region's endpoint has no DNS name: the region does not exist (or this network cannot see AWS). */
export function isUnknownEndpoint(err: unknown): boolean {
  return (err as NodeJS.ErrnoException)?.code === 'ENOTFOUND';
}
