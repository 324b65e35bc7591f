import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { DEFAULTS } from '../../../src/config/defaults';

const FILE = join(__dirname, '..', '..', '..', 'src', 'config', 'options.ts');

/** Every `@default` tag under `GatewayOptions`, as dotted key → the tag's text. */
function documentedDefaults(): Map<string, string> {
  const source = ts.createSourceFile(FILE, readFileSync(FILE, 'utf8'), ts.ScriptTarget.ES2022, true);
  const interfaces = new Map<string, ts.InterfaceDeclaration>();
  source.forEachChild((node) => {
    if (ts.isInterfaceDeclaration(node)) interfaces.set(node.name.text, node);
  });
  const found = new Map<string, string>();
  const visit = (members: ts.NodeArray<ts.TypeElement>, prefix: string): void => {
    for (const member of members) {
      if (!ts.isPropertySignature(member) || member.name === undefined) continue;
      const key = `${prefix}${member.name.getText(source)}`;
      for (const tag of ts.getJSDocTags(member)) {
        if (tag.tagName.text === 'default') found.set(key, ts.getTextOfJSDocComment(tag.comment)?.trim() ?? '');
      }
      const type = member.type;
      if (type !== undefined && ts.isTypeLiteralNode(type)) visit(type.members, `${key}.`);
      // A union of named interfaces (`DiscoveryFromConfig | DiscoveryFromUpstream`): each member's tags count.
      const alternatives = type !== undefined && ts.isUnionTypeNode(type) ? [...type.types] : type !== undefined ? [type] : [];
      for (const alternative of alternatives) {
        const named = ts.isTypeReferenceNode(alternative) ? interfaces.get(alternative.typeName.getText(source)) : undefined;
        if (named !== undefined) visit(named.members, `${key}.`);
      }
    }
  };
  const root = interfaces.get('GatewayOptions');
  if (root !== undefined) visit(root.members, '');
  return found;
}

/** Every leaf of `DEFAULTS` as dotted key → value; a list is one value. */
function leaves(value: unknown, prefix = '', out = new Map<string, unknown>()): Map<string, unknown> {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) leaves(v, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, value);
  return out;
}

describe('the @default tags of GatewayOptions', () => {
  const documented = documentedDefaults();

  it.each([...leaves(DEFAULTS).entries()])('state the real default of %s', (key, value) => {
    // A tag may go on after the value ("… for `serve`; off in library mode").
    expect(documented.get(key)?.split(' ')[0]).toBe(JSON.stringify(value));
  });
});
