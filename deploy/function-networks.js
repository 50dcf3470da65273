/**
 * A Serverless Framework plugin: functions that reach into private networks run in the VPC
 * subnets and security groups the deployment's parameters name, and only when it names them.
 *
 * A function with `network: <name>` is attached to `custom.networks.<name>`:
 *   { subnetIds: 'subnet-a,subnet-b', securityGroupIds: 'sg-1' }   (comma-separated, from parameters)
 * When both lists are empty the function stays outside any VPC (it reaches public endpoints only);
 * one without the other is a mistake the package refuses, naming the parameter. Attached, the
 * function gets a VpcConfig, and serverless-iam-roles-per-function gives its role AWS's managed
 * AWSLambdaVPCAccessExecutionRole (the network interfaces Lambda creates for it; those actions
 * have no resource-level permissions). The subnets must reach DynamoDB, EventBridge, SQS, KMS and
 * the other services the function calls: a NAT gateway, or VPC endpoints for them.
 */
export default class FunctionNetworks {
  constructor(serverless) {
    this.serverless = serverless;
    serverless.configSchemaHandler.defineFunctionProperties('aws', {
      properties: { network: { type: 'string', minLength: 1 } },
    });
    this.hooks = {
      // Before the framework compiles functions (their VpcConfig) and the roles plugin reads `vpc`.
      'before:package:compileFunctions': () => this.attach(),
    };
  }

  attach() {
    const { service } = this.serverless;
    const networks = service.custom?.networks ?? {};
    const list = (value) => String(value ?? '').split(/[\s,]+/).filter(Boolean);
    const ids = (network, field, prefix) => {
      const values = list(networks[network][field]);
      const bad = values.find((v) => !new RegExp(`^${prefix}-[0-9a-f]+$`).test(v));
      if (bad) throw new this.serverless.classes.Error(`custom.networks.${network}.${field}: ${bad} is not a ${prefix}- id (parameter ${network}${field[0].toUpperCase()}${field.slice(1)}: ids separated by commas)`);
      return [...new Set(values)];
    };
    for (const [name, fn] of Object.entries(service.functions)) {
      if (!fn.network) continue;
      const network = networks[fn.network];
      if (!network) throw new this.serverless.classes.Error(`function ${name}: network ${fn.network} is not in custom.networks`);
      const subnetIds = ids(fn.network, 'subnetIds', 'subnet');
      const securityGroupIds = ids(fn.network, 'securityGroupIds', 'sg');
      if (!subnetIds.length && !securityGroupIds.length) continue;
      if (!subnetIds.length || !securityGroupIds.length) {
        const missing = subnetIds.length ? 'securityGroupIds' : 'subnetIds';
        throw new this.serverless.classes.Error(`custom.networks.${fn.network}.${missing}: give both subnets and security groups (parameters ${fn.network}SubnetIds and ${fn.network}SecurityGroupIds), or neither`);
      }
      fn.vpc = { subnetIds, securityGroupIds };
    }
  }
}
