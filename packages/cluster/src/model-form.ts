import { dumpYaml, type KubernetesObject, loadYaml } from '@kubernetes/client-node';
import { load as loadJsYaml } from 'js-yaml';

/**
 * A plain JSON object in client-node's model form. client-node serializes known kinds through their model classes,
 * whose property names differ from the JSON ones in places (`default` → `_default`, `from` → `_from`): a plain
 * object sent as is loses those fields. Fields the model does not know are dropped here.
 */
export function toModelForm(object: KubernetesObject): KubernetesObject {
  return loadYaml<KubernetesObject>(JSON.stringify(object));
}

/**
 * A client-node model object back in the API's JSON shape (`_default` → `default`, Dates → ISO strings). Read back with
 * js-yaml, the library client-node dumps with: it leaves a string such as `93e515209255` unquoted because its own
 * schema reads it as a string, which another YAML 1.2 parser would read as a float (Infinity).
 */
export function toPlainObject(object: KubernetesObject): KubernetesObject {
  return loadJsYaml(dumpYaml(object)) as KubernetesObject;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Paths of fields of `original` missing from `roundTrip` (unknown to the Kubernetes schema, e.g. a typo). */
export function droppedFields(original: unknown, roundTrip: unknown, path = ''): string[] {
  if (Array.isArray(original)) {
    if (!Array.isArray(roundTrip)) return [path];
    return original.flatMap((item, index) => droppedFields(item, roundTrip[index], `${path}[${index}]`));
  }
  if (!isRecord(original)) return [];
  if (!isRecord(roundTrip)) return [path];
  return Object.entries(original).flatMap(([key, value]) => {
    if (value === undefined || value === null) return [];
    const child = path ? `${path}.${key}` : key;
    return key in roundTrip ? droppedFields(value, roundTrip[key], child) : [child];
  });
}
