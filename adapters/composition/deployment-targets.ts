import { ValidationError } from '../../shared/errors.ts';
import type { Target } from '../../shared/model.ts';
import type { DeploymentTarget, TargetStore } from '../../shared/ports.ts';
import { recordingCalls } from '../aws/call-recorder.ts';
import { DynamoTargetStore } from '../dynamodb/target-store.ts';
import { FilesystemTarget } from '../targets/filesystem-target.ts';
import { WebhookTarget } from '../targets/webhook-target.ts';
import { allowedRoots, type Base } from './base.ts';

/**
 * The adapter for a registered target; its secrets come from the environment, never from the
 * table. A filesystem target writes only inside `roots`, and runs a reload command only if an
 * admin registered it.
 */
function deploymentTarget(target: Target, environment: NodeJS.ProcessEnv, targets: TargetStore, roots: string[]): DeploymentTarget {
  switch (target.type) {
    case 'filesystem':
      if (target.reloadCommand && target.registeredByRole !== 'admin') throw new ValidationError(`target ${target.name} has a reload command no admin registered; register it again as an admin`, 'reloadCommand');
      return new FilesystemTarget(String(target.directory), roots, target.reloadCommand);
    case 'webhook': {
      const secret = environment[String(target.secretEnv)];
      if (!secret) throw new ValidationError(`the webhook secret ${target.secretEnv} is not set in the environment`, 'secretEnv');
      return new WebhookTarget({ url: String(target.url), secret, caCertificatePem: target.caCertificatePem as string | undefined });
    }
    case 'acm':
      return loadedWhenUsed(async () => {
        const [{ ACMClient }, { AcmTarget }] = await Promise.all([import('@aws-sdk/client-acm'), import('../targets/acm-target.ts')]);
        return new AcmTarget(recordingCalls(new ACMClient({ region: String(target.region) }), 'acm'), target.certificateArn as string | undefined, (arn) => targets.put({ ...target, certificateArn: arn }));
      });
    case 'secretsmanager':
      return loadedWhenUsed(async () => {
        const [{ SecretsManagerClient }, { SecretsManagerTarget }] = await Promise.all([import('@aws-sdk/client-secrets-manager'), import('../targets/secrets-manager-target.ts')]);
        return new SecretsManagerTarget(recordingCalls(new SecretsManagerClient({ region: String(target.region) }), 'secretsmanager'), String(target.secretId));
      });
  }
}

/** A target whose adapter (and AWS client) is loaded when it is first deployed to: a function serving other targets never loads it. */
function loadedWhenUsed(load: () => Promise<DeploymentTarget>): DeploymentTarget {
  let loaded: Promise<DeploymentTarget> | undefined;
  const target = () => (loaded ??= load());
  return {
    deploy: async (bundle) => (await target()).deploy(bundle),
    rollback: async (expectCurrent, previous) => (await target()).rollback(expectCurrent, previous),
  };
}

/** The registered targets and the adapter for each; filesystem targets write only under the configuration's deployment.allowedRoots (else the targets folder). */
export function deploymentTargets(b: Base) {
  const targets = new DynamoTargetStore(b.table);
  return {
    targets,
    targetAdapter: (target: Target): DeploymentTarget => deploymentTarget(target, b.env(), targets, allowedRoots(b)),
    get deploymentRoots() {
      return allowedRoots(b);
    },
    verifyAttempts: b.config.verifyAttempts,
    verifyDelayMs: b.config.verifyDelayMs,
  };
}
