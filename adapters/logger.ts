import { Logger } from '@aws-lambda-powertools/logger';

/** Structured JSON logs on stdout (CloudWatch on AWS). Never pass key material to it. */
export const logger = new Logger({ serviceName: 'certops' });
