/**
 * Enough of CloudFormation's intrinsic functions (Ref, Fn::GetAtt, Fn::Join, Fn::Split, Fn::Sub) to read the
 * IAM policies of a packaged template as they would be in an account: pseudo parameters and the
 * physical names and ARNs of the stack's resources come from `names`.
 */
export interface StackNames {
  partition: string;
  region: string;
  accountId: string;
  /** Ref of a resource (its physical name or ARN, as CloudFormation answers Ref for its type). */
  refs: Record<string, string>;
  /** Fn::GetAtt of a resource, by `Logical.Attribute`. */
  attributes: Record<string, string>;
}

export function resolveIntrinsics(value: unknown, names: StackNames): unknown {
  if (Array.isArray(value)) return value.map((v) => resolveIntrinsics(v, names));
  if (!value || typeof value !== 'object') return value;
  const o = value as Record<string, unknown>;
  const pseudo: Record<string, string> = { 'AWS::Partition': names.partition, 'AWS::Region': names.region, 'AWS::AccountId': names.accountId, 'AWS::URLSuffix': 'amazonaws.com' };
  const ref = (name: string) => {
    const resolved = pseudo[name] ?? names.refs[name];
    if (resolved === undefined) throw new Error(`no value for Ref ${name}`);
    return resolved;
  };
  if ('Ref' in o) return ref(String(o.Ref));
  if ('Fn::GetAtt' in o) {
    const [logical, attribute] = o['Fn::GetAtt'] as [string, string];
    const resolved = names.attributes[`${logical}.${attribute}`];
    if (resolved === undefined) throw new Error(`no value for Fn::GetAtt ${logical}.${attribute}`);
    return resolved;
  }
  if ('Fn::Join' in o) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return (resolveIntrinsics(parts, names) as string[]).join(sep);
  }
  if ('Fn::Split' in o) {
    const [sep, text] = o['Fn::Split'] as [string, unknown];
    return String(resolveIntrinsics(text, names)).split(sep);
  }
  if ('Fn::Sub' in o) {
    const [text, vars] = (Array.isArray(o['Fn::Sub']) ? o['Fn::Sub'] : [o['Fn::Sub'], {}]) as [string, Record<string, unknown>];
    return text.replace(/\$\{([^}]+)\}/g, (_, name: string) => {
      if (vars[name] !== undefined) return String(resolveIntrinsics(vars[name], names));
      return name.includes('.') ? String(resolveIntrinsics({ 'Fn::GetAtt': name.split('.') }, names)) : ref(name);
    });
  }
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, resolveIntrinsics(v, names)]));
}
