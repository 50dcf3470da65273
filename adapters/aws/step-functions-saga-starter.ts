import { SFNClient, StartExecutionCommand, type SFNClientConfig } from '@aws-sdk/client-sfn';
import type { SagaStarter } from '../../shared/ports.ts';
import { recordingCalls } from './call-recorder.ts';

export class StepFunctionsSagaStarter implements SagaStarter {
  private readonly client: SFNClient;

  constructor(private readonly stateMachineArn: string, config: SFNClientConfig = {}) {
    this.client = recordingCalls(new SFNClient(config), 'states');
  }

  async start(name: string, input: Record<string, unknown>): Promise<void> {
    try {
      await this.client.send(new StartExecutionCommand({ stateMachineArn: this.stateMachineArn, name, input: JSON.stringify(input) }));
    } catch (err) {
      // Step Functions keeps execution names unique for 90 days: a name already used means this saga already ran.
      if ((err as Error).name !== 'ExecutionAlreadyExists') throw err;
    }
  }
}
