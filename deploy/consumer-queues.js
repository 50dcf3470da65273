/**
 * A Serverless Framework plugin: every function that declares `consumes` reads its events from a
 * queue of its own, fed by an EventBridge rule on the suite's bus.
 *
 * EventBridge's retry policy and dead-letter queue cover only its delivery to a target; a Lambda
 * target that throws gets two asynchronous retries and the event is gone. Behind an SQS queue a
 * failed message comes back after the visibility timeout and, after `maxReceiveCount` receives,
 * waits in the consumer's dead-letter queue (`certops dead-letters list|replay`).
 *
 * For a function `fn` with
 *   consumes: { pattern: <EventBridge pattern>, batchSize?: 1-10,000, maximumBatchingWindow?: s, maximumConcurrency?: 2-1000, maxReceiveCount?: n, wholeBatch?: true }
 * it adds (AWS::SQS, AWS::Events, AWS::CloudWatch resource types):
 * - `certops-<stage>-<fn>`: the queue, visibility timeout six times the function's timeout (AWS's
 *   advice for Lambda event sources), redriving to
 * - `certops-<stage>-<fn>-dlq`: kept 14 days, alarmed on when it holds anything;
 * - a rule with the pattern targeting the queue (the rule's own retries, and the suite's
 *   EventsDeadLetterQueue for what EventBridge cannot deliver), and the queue policy letting only
 *   that rule send;
 * - an `sqs` event on the function: batches with partial batch responses (ReportBatchItemFailures),
 *   at most `maximumConcurrency` invocations at once when given (the event source's own cap).
 * A batch above 10 needs a batching window (Lambda's rule for standard queues). `wholeBatch` only
 * says how the function takes a batch (in one call; when that fails for a reason that may be one
 * message's, halved in order until the messages that fail are found, and only those reported:
 * wholeBatchHandler); the queue is the same.
 * Every function's environment names the consumers (CERTOPS_CONSUMERS), so the API can find
 * their dead-letter queues.
 */
export default class ConsumerQueues {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineFunctionProperties('aws', {
      properties: {
        consumes: {
          type: 'object',
          properties: {
            pattern: { type: 'object' },
            batchSize: { type: 'integer', minimum: 1, maximum: 10000 },
            maximumBatchingWindow: { type: 'integer', minimum: 0, maximum: 300 },
            maximumConcurrency: { type: 'integer', minimum: 2, maximum: 1000 },
            maxReceiveCount: { type: 'integer', minimum: 1, maximum: 1000 },
            wholeBatch: { type: 'boolean' },
          },
          required: ['pattern'],
          additionalProperties: false,
        },
      },
    });
    this.hooks = {
      // Before the framework compiles functions (their environment) and events, and before the
      // per-function roles plugin reads the events (before:package:finalize).
      'before:package:compileFunctions': () => this.addQueues(),
    };
  }

  consumers() {
    return Object.entries(this.serverless.service.functions).filter(([, fn]) => fn.consumes);
  }

  addQueues() {
    const { service } = this.serverless;
    const provider = this.serverless.getProvider('aws');
    const stage = provider.getStage();
    const resources = service.provider.compiledCloudFormationTemplate.Resources;
    const consumers = this.consumers();
    service.provider.environment = { ...service.provider.environment, CERTOPS_CONSUMERS: consumers.map(([name]) => name).join(',') };
    for (const [name, fn] of consumers) {
      const id = provider.naming.getNormalizedFunctionName(name);
      const timeout = fn.timeout ?? service.provider.timeout ?? 6;
      const { pattern, batchSize = 10, maximumBatchingWindow, maximumConcurrency, maxReceiveCount = 5 } = fn.consumes;
      if (batchSize > 10 && !maximumBatchingWindow) throw new this.serverless.classes.Error(`${name}: consumes.batchSize above 10 needs a maximumBatchingWindow of at least 1 s`);
      const queue = `${id}Queue`;
      const deadLetters = `${id}DeadLetterQueue`;
      const rule = `${id}Rule`;
      resources[deadLetters] = {
        Type: 'AWS::SQS::Queue',
        // What it holds is owed: a change that replaces the queue (or removes the consumer) keeps the old one to replay from.
        DeletionPolicy: 'Retain',
        UpdateReplacePolicy: 'Retain',
        Properties: { QueueName: `${service.service}-${stage}-${name}-dlq`, MessageRetentionPeriod: 1209600, SqsManagedSseEnabled: true },
      };
      resources[queue] = {
        Type: 'AWS::SQS::Queue',
        Properties: {
          QueueName: `${service.service}-${stage}-${name}`,
          VisibilityTimeout: Math.min(43200, 6 * timeout),
          SqsManagedSseEnabled: true,
          RedrivePolicy: { deadLetterTargetArn: { 'Fn::GetAtt': [deadLetters, 'Arn'] }, maxReceiveCount },
        },
      };
      resources[rule] = {
        Type: 'AWS::Events::Rule',
        Properties: {
          EventBusName: { 'Fn::GetAtt': ['CertopsBus', 'Name'] },
          EventPattern: pattern,
          State: 'ENABLED',
          Targets: [{
            Id: `${name}-queue`,
            Arn: { 'Fn::GetAtt': [queue, 'Arn'] },
            RetryPolicy: { MaximumEventAgeInSeconds: 86400, MaximumRetryAttempts: 185 },
            DeadLetterConfig: { Arn: { 'Fn::GetAtt': ['EventsDeadLetterQueue', 'Arn'] } },
          }],
        },
      };
      resources[`${id}QueuePolicy`] = {
        Type: 'AWS::SQS::QueuePolicy',
        Properties: {
          Queues: [{ Ref: queue }],
          PolicyDocument: {
            Version: '2012-10-17',
            Statement: [{
              Effect: 'Allow',
              Principal: { Service: 'events.amazonaws.com' },
              Action: 'sqs:SendMessage',
              Resource: { 'Fn::GetAtt': [queue, 'Arn'] },
              Condition: { ArnEquals: { 'aws:SourceArn': { 'Fn::GetAtt': [rule, 'Arn'] } } },
            }],
          },
        },
      };
      resources[`${id}DeadLettersAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmActions: [{ Ref: 'CertopsAlarmTopic' }],
          AlarmDescription: `Events ${name} kept failing wait in its dead-letter queue (certops dead-letters list, then replay)`,
          Namespace: 'AWS/SQS',
          MetricName: 'ApproximateNumberOfMessagesVisible',
          Dimensions: [{ Name: 'QueueName', Value: { 'Fn::GetAtt': [deadLetters, 'QueueName'] } }],
          Statistic: 'Maximum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
        },
      };
      fn.events = [
        ...(fn.events ?? []),
        { sqs: { arn: { 'Fn::GetAtt': [queue, 'Arn'] }, batchSize, ...(maximumBatchingWindow === undefined ? {} : { maximumBatchingWindow }), ...(maximumConcurrency === undefined ? {} : { maximumConcurrency }), functionResponseType: 'ReportBatchItemFailures' } },
      ];
    }
  }
}
