import { createReferenceSchema } from '../../src/db/schema.js';
import type { Db } from '../../src/db/types.js';
import { generateDemoData } from '../../src/demo/generate.js';

/** The reference schema filled with the demo generator's data (deterministic for a given size). */
export async function demoDatabase(db: Db, rows = 2000): Promise<Record<string, number>> {
  await createReferenceSchema(db);
  return generateDemoData(db, { rows, now: new Date('2026-11-25T03:00:00Z'), timeZone: 'UTC' });
}
