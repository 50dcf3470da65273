/**
 * A Serverless Framework plugin: removes the framework's shared execution role
 * (IamRoleLambdaExecution) once every function has a role of its own (serverless-iam-roles-per-function,
 * listed before this plugin). The framework still writes it, granting read and delete on every
 * consumer's queue; a role no function assumes is one more principal with rights for anyone who may
 * pass roles. Kept when anything in the template still names it.
 */
const ROLE = 'IamRoleLambdaExecution';

/** Whether `node` (a template fragment) names `id` by Ref, Fn::GetAtt or DependsOn. */
function names(node, id) {
  if (Array.isArray(node)) return node.some((n) => names(n, id));
  if (!node || typeof node !== 'object') return false;
  return Object.entries(node).some(([key, value]) =>
    (key === 'Ref' && value === id)
    || (key === 'Fn::GetAtt' && (Array.isArray(value) ? value[0] === id : String(value).split('.')[0] === id))
    || (key === 'DependsOn' && [value].flat().includes(id))
    || names(value, id));
}

export default class UnusedDefaultRole {
  constructor(serverless) {
    this.serverless = serverless;
    this.hooks = { 'before:package:finalize': () => this.remove() };
  }

  remove() {
    const template = this.serverless.service.provider.compiledCloudFormationTemplate;
    if (!template.Resources[ROLE]) return;
    const { [ROLE]: role, ...others } = template.Resources;
    if (names({ ...template, Resources: others }, ROLE)) return;
    delete template.Resources[ROLE];
  }
}
