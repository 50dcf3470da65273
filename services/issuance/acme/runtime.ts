import { compose, once } from '../../../adapters/composition/base.ts';
import { NetworkChallengeValidator } from '../../../adapters/acme/challenge-validation.ts';
import { DynamoAcmeServerStore } from '../../../adapters/dynamodb/acme-server-store.ts';
import { keyVaults } from '../../../adapters/composition/key-vaults.ts';
import { canonicalJson } from '../../../shared/canonical-json.ts';
import type { AcmeOrder } from '../../../shared/acme-server.ts';
import { ValidationError } from '../../../shared/errors.ts';
import { issuanceRuntime } from '../runtime.ts';

/** What the ACME server uses: issuance's (requests, CAs behind the policy gate, the inventory, revocation), and its own accounts, orders and validator. */
export const acmeServerRuntime = once(() => {
  const issuance = issuanceRuntime();
  let built: { settings: string; validator: NetworkChallengeValidator } | undefined;
  return compose(issuance, {
    acmeStore: new DynamoAcmeServerStore(issuance.table),
    eabKeys: keyVaults(issuance).eabKeys,
    defaultIssuer: issuance.config.defaultIssuer,
    renewalWindow: issuance.config.renewalWindow,
    /** Validates as the configuration in force says (built again when that changes). */
    get validator() {
      const settings = issuance.suite.acmeServer.validation;
      const key = canonicalJson(settings);
      if (built?.settings !== key) built = { settings: key, validator: new NetworkChallengeValidator(settings) };
      return built.validator;
    },
    profileOf(order: AcmeOrder) {
      const { profiles } = issuance.suite.acmeServer;
      // A profile removed since the order was made: the order ends, saying why.
      if (!Object.hasOwn(profiles, order.profile)) throw new ValidationError(`the ACME profile ${order.profile} is no longer configured`, 'profile');
      return profiles[order.profile];
    },
  });
});
