import {
  isAlias,
  isCollection,
  isMap,
  isNode,
  isPair,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
  visit,
} from 'yaml';

/** The most a learner may submit at once: a few objects of a lab fit in a fraction of it. */
export const MAX_MANIFEST_BYTES = 64 * 1024;
/** The most YAML documents (objects) one submission may hold. */
export const MAX_MANIFEST_DOCUMENTS = 10;

/** One thing wrong with a submitted manifest: where (document, line, field path) and why, in plain words. */
export interface ManifestProblem {
  /** 1-based number of the YAML document (`---` separated) it is in. */
  document?: number;
  /** 1-based line in the submitted text. */
  line?: number;
  /** The field path, e.g. `spec.template.spec.containers[0].securityContext.privileged`. */
  field: string;
  message: string;
}

/** One parsed document: plain JSON data and a way back from a field path to its line. */
export interface ParsedDocument {
  /** 1-based number of the document. */
  index: number;
  object: unknown;
  /** The line of a field path (of the deepest part that exists), for messages. */
  lineOf(path: readonly (string | number)[]): number | undefined;
}

export type ParseManifestResult =
  | { ok: true; documents: ParsedDocument[] }
  | { ok: false; problems: ManifestProblem[] };

export interface ParseManifestOptions {
  maxBytes?: number;
  maxDocuments?: number;
}

/** A field path as a learner reads it: `spec.template.spec.containers[0].image`. */
export function formatPath(path: readonly (string | number)[]): string {
  const text = path.reduce<string>(
    (text, part) =>
      typeof part === 'number' ? `${text}[${part}]` : text ? `${text}.${shownKey(part)}` : shownKey(part),
    '',
  );
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** The first line of a YAML parser error, without its position (given apart) and cut short (it may quote the text). */
function shownYamlError(message: string): string {
  const first = (message.split('\n')[0] ?? '').replace(/ at line \d+, column \d+:?$/, '');
  return first.length > 100 ? `${first.slice(0, 99)}…` : first;
}

/** A key as the learner reads it in one line: control characters (a newline in a broken key) shown as "?", long keys cut. */
function shownKey(key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: replacing them is the point
  const flat = key.replace(/[\u0000-\u001f\u007f]/g, '?');
  return flat.length > 60 ? `${flat.slice(0, 59)}…` : flat;
}

type PathPart = string | number;

/** The only explicit tags a manifest may carry: those of plain JSON values. */
const PLAIN_SCALAR_TAGS = new Set(['str', 'int', 'float', 'bool', 'null'].map((name) => `tag:yaml.org,2002:${name}`));

/** The path of the deepest key or item whose source range holds `offset` (for syntax errors). */
function pathAt(node: unknown, offset: number, path: PathPart[] = []): PathPart[] {
  if (isMap(node)) {
    for (const pair of node.items) {
      const key = isScalar(pair.key) ? String(pair.key.value) : undefined;
      const keyRange = isNode(pair.key) ? pair.key.range : undefined;
      const valueRange = isNode(pair.value) ? pair.value.range : undefined;
      const start = keyRange?.[0] ?? valueRange?.[0];
      const end = valueRange?.[2] ?? keyRange?.[2];
      if (key !== undefined && start !== undefined && end !== undefined && offset >= start && offset <= end) {
        return pathAt(pair.value, offset, [...path, key]);
      }
    }
  } else if (isSeq(node)) {
    for (const [index, item] of node.items.entries()) {
      const range = isNode(item) ? item.range : undefined;
      if (range && offset >= range[0] && offset <= range[2]) return pathAt(item, offset, [...path, index]);
    }
  }
  return path;
}

/**
 * Parses a learner's manifest safely: bounded size and document count, one or more `---` separated documents,
 * and no anchors, aliases, merge keys or explicit tags (the ways YAML makes a small text expand into a huge or
 * surprising object). Syntax errors come with their line and the field they are in.
 * Pure: never throws on any input.
 */
export function parseManifest(text: string, options: ParseManifestOptions = {}): ParseManifestResult {
  const maxBytes = options.maxBytes ?? MAX_MANIFEST_BYTES;
  const maxDocuments = options.maxDocuments ?? MAX_MANIFEST_DOCUMENTS;
  // text.length counts UTF-16 units: a text longer than maxBytes units is longer in bytes too, without encoding it.
  const bytes = text.length > maxBytes ? text.length : Buffer.byteLength(text, 'utf8');
  if (bytes > maxBytes) {
    return {
      ok: false,
      problems: [
        {
          field: '',
          message: `the manifest is too large (${bytes > 1024 * 1024 ? `${(bytes / 1024 / 1024).toFixed(1)} MB` : `${Math.ceil(bytes / 1024)} KiB`}); the limit is ${maxBytes / 1024} KiB`,
        },
      ],
    };
  }
  if (text.trim() === '') return { ok: false, problems: [{ field: '', message: 'the manifest is empty' }] };

  const lines = new LineCounter();
  const documents = parseAllDocuments(text, {
    lineCounter: lines,
    uniqueKeys: true,
    merge: false,
    prettyErrors: false,
    strict: true,
  });
  if (!Array.isArray(documents)) return { ok: false, problems: [{ field: '', message: 'the manifest is empty' }] };
  const lineAt = (offset: number) => lines.linePos(offset).line;
  const problems: ManifestProblem[] = [];
  const nonEmpty = documents.filter((document) => document.contents !== null || document.errors.length > 0);
  if (nonEmpty.length > maxDocuments) {
    return {
      ok: false,
      problems: [
        {
          field: '',
          line: lineAt(nonEmpty[maxDocuments]?.range[0] ?? 0),
          message: `the manifest holds ${nonEmpty.length} documents; at most ${maxDocuments} are allowed`,
        },
      ],
    };
  }

  const parsed: ParsedDocument[] = [];
  nonEmpty.forEach((document, position) => {
    const index = position + 1;
    const before = problems.length;
    for (const error of [...document.errors, ...document.warnings]) {
      const offset = error.pos[0];
      problems.push({
        document: index,
        line: lineAt(offset),
        field: formatPath(pathAt(document.contents, offset)),
        message: `is not valid YAML: ${shownYamlError(error.message)}`,
      });
    }
    if (problems.length > before) return;
    visit(document, (_key, node, ancestors) => {
      const path = ancestors.flatMap((ancestor, i): PathPart[] => {
        if (!isPair(ancestor)) {
          const next = ancestors[i + 1];
          return isSeq(ancestor) && next !== undefined ? [ancestor.items.indexOf(next as never)] : [];
        }
        return isScalar(ancestor.key) ? [String(ancestor.key.value)] : [];
      });
      const offset = (isNode(node) ? node.range?.[0] : isPair(node) && isNode(node.key) ? node.key.range?.[0] : 0) ?? 0;
      const refuse = (message: string) => {
        problems.push({ document: index, line: lineAt(offset), field: formatPath(path), message });
        return visit.BREAK;
      };
      if (isAlias(node)) return refuse(`uses the alias *${node.source}; anchors and aliases are not allowed`);
      if (isPair(node) && isScalar(node.key) && node.key.value === '<<') {
        return refuse('uses a merge key (<<); write the fields out instead');
      }
      // A list or mapping as a key has no JSON form (yaml would turn it into a string and print a process warning).
      if (isPair(node) && isCollection(node.key)) {
        return refuse('has a key that is a list or a mapping; a key must be a plain name');
      }
      if (isNode(node)) {
        const withAnchor = node as Node & { anchor?: string; tag?: string };
        if (withAnchor.anchor) return refuse(`defines the anchor &${withAnchor.anchor}; anchors are not allowed`);
        if (withAnchor.tag && !isScalar(node)) return refuse(`uses the tag ${withAnchor.tag}; tags are not allowed`);
        if (withAnchor.tag && isScalar(node) && !PLAIN_SCALAR_TAGS.has(withAnchor.tag)) {
          return refuse(`uses the tag ${withAnchor.tag}; tags are not allowed`);
        }
      }
      return undefined;
    });
    if (problems.length > before) return;
    const object = document.toJS({ maxAliasCount: 0 }) as unknown;
    parsed.push({
      index,
      object,
      lineOf(path) {
        for (let length = path.length; length >= 0; length--) {
          const node = document.getIn(path.slice(0, length), true);
          if (isNode(node) && node.range) return lineAt(node.range[0]);
        }
        return undefined;
      },
    });
  });
  if (problems.length > 0) return { ok: false, problems };
  if (parsed.length === 0) return { ok: false, problems: [{ field: '', message: 'the manifest is empty' }] };
  return { ok: true, documents: parsed };
}
