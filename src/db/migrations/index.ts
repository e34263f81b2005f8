import { initialTables } from './0001-initial-tables.js';
import type { Migration } from './types.js';

export type { Migration } from './types.js';

/** Every step, in order. A new step is a new file `NNNN-name.ts` added at the end of this list. */
export const MIGRATIONS: readonly Migration[] = [initialTables];
