/**
 * A Serverless Framework plugin: an alarm on each function's errors (AWS/Lambda Errors, by
 * FunctionName), to the suite's alarm topic. An error here is an invocation that failed as a
 * whole (a consumer's failed messages are reported in its partial batch response instead, and
 * end in its dead-letter queue, alarmed by deploy/consumer-queues.js).
 */
export default class FunctionAlarms {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'package:compileEvents': () => this.addAlarms() };
  }

  addAlarms() {
    const provider = this.serverless.getProvider('aws');
    const resources = this.serverless.service.provider.compiledCloudFormationTemplate.Resources;
    for (const name of Object.keys(this.serverless.service.functions)) {
      const id = provider.naming.getNormalizedFunctionName(name);
      resources[`${id}ErrorsAlarm`] = {
        Type: 'AWS::CloudWatch::Alarm',
        Properties: {
          AlarmActions: [{ Ref: 'CertopsAlarmTopic' }],
          AlarmDescription: `${name} failed (its log group says why)`,
          Namespace: 'AWS/Lambda',
          MetricName: 'Errors',
          Dimensions: [{ Name: 'FunctionName', Value: { Ref: provider.naming.getLambdaLogicalId(name) } }],
          Statistic: 'Sum',
          Period: 300,
          EvaluationPeriods: 1,
          Threshold: 0,
          ComparisonOperator: 'GreaterThanThreshold',
          TreatMissingData: 'notBreaching',
        },
      };
    }
  }
}
