import type { BaseSequencer } from 'vitest/node';

export declare const durationsFile: (root: string) => string;
export declare const durationKey: (project: string, file: string) => string;
export default class LongestFirstSequencer extends BaseSequencer {}
