import { ValidationError } from './errors.ts';

/** Readers for untrusted JSON: each returns the typed value or throws a ValidationError naming the field. */
export function asObject(value: unknown, field = 'body'): Record<string, unknown> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) throw new ValidationError(`${field} must be a JSON object`, field);
  return value as Record<string, unknown>;
}

export function requiredString(obj: Record<string, unknown>, field: string, max = 4096): string {
  const value = obj[field];
  if (typeof value !== 'string' || value.trim() === '') throw new ValidationError(`${field} is required and must be a non-empty string`, field);
  if (value.length > max) throw new ValidationError(`${field} is longer than ${max} characters`, field);
  return value;
}

export function optionalString(obj: Record<string, unknown>, field: string, max = 4096): string | undefined {
  return obj[field] === undefined || obj[field] === null ? undefined : requiredString(obj, field, max);
}

export function stringList(obj: Record<string, unknown>, field: string, maxItems = 100): string[] {
  const value = obj[field];
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value) || value.some((v) => typeof v !== 'string' || v.trim() === '')) {
    throw new ValidationError(`${field} must be an array of non-empty strings`, field);
  }
  if (value.length > maxItems) throw new ValidationError(`${field} has more than ${maxItems} entries`, field);
  return value as string[];
}

export function optionalInteger(obj: Record<string, unknown>, field: string, min: number, max: number): number | undefined {
  const value = obj[field];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new ValidationError(`${field} must be an integer from ${min} to ${max}`, field);
  }
  return value;
}

export function optionalBoolean(obj: Record<string, unknown>, field: string): boolean {
  const value = obj[field];
  if (value === undefined || value === null) return false;
  if (typeof value !== 'boolean') throw new ValidationError(`${field} must be true or false`, field);
  return value;
}

export function oneOf<T extends string>(obj: Record<string, unknown>, field: string, allowed: readonly T[], fallback: T): T {
  const value = obj[field];
  if (value === undefined || value === null) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw new ValidationError(`${field} must be one of ${allowed.join(', ')}`, field);
  return value as T;
}

/** A query-string integer such as `limit`, bounded. */
export function queryInteger(query: Record<string, string>, field: string, fallback: number, min: number, max: number): number {
  const raw = query[field];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isInteger(value) || value < min || value > max) throw new ValidationError(`${field} must be an integer from ${min} to ${max}`, field);
  return value;
}

/** A JSON document that must hold an object (a StartExecution input, an event detail). */
export function parseJsonObject(text: unknown, field: string): Record<string, unknown> {
  if (typeof text !== 'string') throw new ValidationError(`${field} must be a string holding a JSON object`, field);
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new ValidationError(`${field} is not valid JSON`, field);
  }
  return asObject(value, field);
}
