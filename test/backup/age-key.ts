import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface AgeKey {
  file: string;
  recipient: string;
  identities: string[];
}

/** A fresh key pair made by the stock age-keygen (so the tests also check our reading of its files). */
export function ageKey(dir: string, name: string): AgeKey {
  const file = path.join(dir, name);
  execFileSync('age-keygen', ['-o', file], { stdio: ['ignore', 'ignore', 'ignore'] });
  const recipient = execFileSync('age-keygen', ['-y', file]).toString().trim();
  const identities = fs
    .readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('AGE-SECRET-KEY-'));
  return { file, recipient, identities };
}
