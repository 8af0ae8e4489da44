/**
 * @labbot/test-support: helpers every test file shares.
 *
 * - waitFor(what, check, options): polls until the check returns a value; the one poll helper of the repository.
 * - waitForValue(what, read, accept, options): polls a reading until it is accepted.
 * - expectGolden(file, value): compares with a golden JSON file; a missing one fails unless UPDATE_GOLDEN=1.
 * - deleteRegistryRepository(registry, repository): removes the tags a test pushed to the local registry.
 * - refusalProblem(text): why a refusal is not one short clear line (undefined when it is), for the hostile-input tests.
 */
export { expectGolden } from './golden.js';
export { freePort } from './port.js';
export { refusalProblem } from './refusal.js';
export { deleteRegistryRepository } from './registry.js';
export { type WaitForOptions, waitFor, waitForValue } from './wait-for.js';
