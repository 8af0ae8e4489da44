import { LabbotError } from '@labbot/core';
import { describe, expect, it } from 'vitest';
import { checkLearnerBuild, LearnerBuildErrorCode, type LearnerFile } from './learner-dockerfile.js';

const base = 'labbot/busybox:1';
const file = (path: string, content = 'x'): LearnerFile => ({ path, content: Buffer.from(content) });

function refusal(dockerfile: string, files: LearnerFile[] = []): LabbotError {
  try {
    checkLearnerBuild({ dockerfile, files, allowedBaseImages: [base] });
  } catch (error) {
    expect(error).toBeInstanceOf(LabbotError);
    return error as LabbotError;
  }
  throw new Error('expected a refusal');
}

describe('checking a learner Dockerfile before any build', () => {
  it("reads the material's Dockerfile: FROM, COPY, continuation lines, comments, JSON CMD", () => {
    const parsed = checkLearnerBuild({
      dockerfile: `# my image\nFROM ${base}\nCOPY app/ /app/\nRUN echo one && \\\n    echo two\nENV A=1 B="two words"\nCMD ["/bin/sh", "/app/hello.sh"]\n`,
      files: [file('app/hello.sh')],
      allowedBaseImages: [base],
    });
    expect(parsed.baseImage).toBe(base);
    expect(parsed.instructions.map((instruction) => [instruction.keyword, instruction.line])).toEqual([
      ['FROM', 2],
      ['COPY', 3],
      ['RUN', 4],
      ['ENV', 6],
      ['CMD', 7],
    ]);
    expect(parsed.instructions[2]).toMatchObject({ command: ['/bin/sh', '-c', 'echo one && echo two'] });
    expect(parsed.instructions[3]).toMatchObject({
      pairs: [
        ['A', '1'],
        ['B', 'two words'],
      ],
    });
  });

  it('teaches the usual mistakes', () => {
    expect(refusal('FROM node:20\nCMD ["node"]')).toMatchObject({ code: LearnerBuildErrorCode.fromNotAllowed });
    expect(refusal('FROM node:20').userMessage).toContain(`Write \`FROM ${base}\``);
    expect(refusal(`FROM ${base}\nCMD ["echo", "hi"`).code).toBe(LearnerBuildErrorCode.cmdNotJson);
    expect(refusal(`FROM ${base}\nCOPY app.sh /app/`, [file('src/app.sh')]).userMessage).toContain(
      'You sent: src/app.sh',
    );
    expect(refusal(`RUN echo\nFROM ${base}`).userMessage).toContain('starts with FROM');
  });

  it('refuses what could reach outside the sandbox', () => {
    expect(refusal(`FROM ${base}\nADD http://example.com/x /x`).code).toBe(LearnerBuildErrorCode.instructionRefused);
    expect(refusal(`FROM ${base}\nCOPY --from=alpine /etc/passwd /x`).code).toBe(
      LearnerBuildErrorCode.instructionRefused,
    );
    expect(refusal(`FROM ${base}\nRUN --network=host wget x`).code).toBe(LearnerBuildErrorCode.instructionRefused);
    expect(refusal(`FROM ${base}\nCOPY ../etc/passwd /x`).code).toBe(LearnerBuildErrorCode.copyMissingFile);
    expect(refusal(`FROM ${base}\nFROM ${base}`).code).toBe(LearnerBuildErrorCode.fromNotAllowed);
    expect(refusal(`FROM ${base}`, [file('../x')]).code).toBe(LearnerBuildErrorCode.fileInvalid);
    expect(refusal(`FROM ${base}`, [file('/etc/passwd')]).code).toBe(LearnerBuildErrorCode.fileInvalid);
  });
});
