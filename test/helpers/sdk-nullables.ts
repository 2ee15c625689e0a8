import path from 'node:path';
import ts from 'typescript';

/**
 * The fields the official SDK types `| null` in a params interface (`SendMessageParams`,
 * `TenantUpdateParams`...), as dotted paths (`message.routing`, `message.to.locale`), read from the
 * installed SDK's declarations with the TypeScript compiler, like sdk-coverage reads its methods:
 * a new SDK version's nullable fields are tested without anyone listing them. Object-typed fields
 * are followed `depth` levels down (array elements as `path.0`); unions of object types are
 * followed into each member.
 */
const root = path.dirname(require.resolve('@trycourier/courier'));
let program: ts.Program | undefined;

export function nullableFields(file: string, interfaceName: string, depth = 3): string[] {
  // One program over the SDK's declarations, made once (a few seconds) for every interface asked for.
  program ??= ts.createProgram([path.join(root, 'index.d.ts')], { strict: true, noEmit: true });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(path.join(root, file));
  if (!source) throw new Error(`no ${file} in the SDK`);
  let found: ts.Type | undefined;
  const visit = (node: ts.Node, scope: string[]) => {
    if (ts.isModuleDeclaration(node)) {
      if (node.body) ts.forEachChild(node.body, (n) => visit(n, [...scope, node.name.getText()]));
      return;
    }
    if (ts.isInterfaceDeclaration(node) && [...scope, node.name.text].join('.') === interfaceName) found = checker.getTypeAtLocation(node);
    else ts.forEachChild(node, (n) => visit(n, scope));
  };
  visit(source, []);
  if (!found) throw new Error(`no interface ${interfaceName} in ${file}`);

  const out = new Set<string>();
  const isObject = (t: ts.Type) => (t.flags & ts.TypeFlags.Object) !== 0 && !checker.isArrayType(t) && t.getProperties().length > 0;
  const walk = (type: ts.Type, at: string[], left: number) => {
    for (const prop of type.getProperties()) {
      const decl = prop.valueDeclaration ?? prop.declarations?.[0];
      if (!decl) continue;
      const t = checker.getTypeOfSymbolAtLocation(prop, decl);
      const parts = t.isUnion() ? t.types : [t];
      const p = [...at, prop.name];
      if (parts.some((x) => (x.flags & ts.TypeFlags.Null) !== 0)) out.add(p.join('.'));
      if (left === 0) continue;
      for (const x of parts) {
        if (isObject(x)) walk(x, p, left - 1);
        else if (checker.isArrayType(x)) {
          const el = checker.getTypeArguments(x as ts.TypeReference)[0];
          for (const e of el?.isUnion() ? el.types : el ? [el] : []) if (isObject(e)) walk(e, [...p, '0'], left - 1);
        }
      }
    }
  };
  walk(found, [], depth);
  return [...out].sort();
}
