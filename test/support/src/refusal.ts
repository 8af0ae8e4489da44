/** Longest refusal a learner should have to read: one short sentence or two. */
export const MAX_REFUSAL_LENGTH = 200;

/**
 * Why `text` is not a short clear refusal (one line, no stack trace, at most MAX_REFUSAL_LENGTH characters),
 * or undefined when it is one. Used by the hostile-input tests on every refusal they provoke.
 */
export function refusalProblem(text: unknown): string | undefined {
  if (typeof text !== 'string') return `not a text: ${typeof text}`;
  if (text.trim() === '') return 'empty';
  if (text.includes('\n')) return `more than one line: ${JSON.stringify(text.slice(0, 300))}`;
  if (text.length > MAX_REFUSAL_LENGTH) return `${text.length} characters: ${JSON.stringify(text)}`;
  if (/\bat \S+ \(?\S+:\d+:\d+\)?|node:internal|\w+Error:|\bundefined\b|\[object Object\]/.test(text)) {
    return `looks like an internal error: ${JSON.stringify(text)}`;
  }
  return undefined;
}
