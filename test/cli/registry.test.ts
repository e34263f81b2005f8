import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { JOB_REGISTRY, jobNames } from '../../src/jobs/registry.js';
import { ROOT } from '../support/cli.js';

const SRC = path.join(ROOT, 'src');
const JOBS_DIR = path.join(SRC, 'jobs');
const REGISTRY = path.join(JOBS_DIR, 'registry.ts');

function sourceFiles(dir: string): string[] {
  return fs
    .readdirSync(dir, { recursive: true })
    .map(String)
    .filter((f) => f.endsWith('.ts'))
    .map((f) => path.join(dir, f));
}

/** The job folders: src/jobs/<name>/index.ts whose module defines a job. */
function jobFolders(): string[] {
  return fs
    .readdirSync(JOBS_DIR, { withFileTypes: true })
    .filter((d) => d.isDirectory())
    .map((d) => d.name)
    .filter((name) => {
      const index = path.join(JOBS_DIR, name, 'index.ts');
      return fs.existsSync(index) && /\bdefineJob\b/.test(fs.readFileSync(index, 'utf8'));
    })
    .sort();
}

describe('a job is registered in src/jobs/registry.ts and nowhere else', () => {
  it('every job module is in the registry, under its folder name, and every entry loads a job of its name', async () => {
    expect(jobNames().slice().sort()).toEqual(jobFolders());
    for (const entry of JOB_REGISTRY) {
      const def = (await entry.load()).default;
      expect(def.name).toBe(entry.name);
      expect(typeof def.resolve).toBe('function');
      expect(typeof def.run).toBe('function');
    }
  });

  it('no other source file imports a job module (a type-only import loads and registers nothing)', () => {
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file === REGISTRY) continue;
      const text = fs.readFileSync(file, 'utf8');
      const imports = /import\s+(type\s)?[^'";]*?from\s*['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]/g;
      for (const m of text.matchAll(imports)) {
        if (m[1]) continue;
        const specifier = (m[2] ?? m[3])!;
        const target = path.resolve(path.dirname(file), specifier.replace(/\.js$/, '.ts'));
        const rel = path.relative(JOBS_DIR, target);
        if (/^[a-z0-9-]+[\\/]index\.ts$/.test(rel) && path.dirname(target) !== path.dirname(file))
          offenders.push(`${path.relative(ROOT, file)} imports ${specifier}`);
      }
    }
    expect(offenders).toEqual([]);
  });

  it('no other source file lists job names (naming one job, e.g. demo running backup-db, is a use, not a list)', () => {
    const names = jobNames();
    const offenders: string[] = [];
    for (const file of sourceFiles(SRC)) {
      if (file === REGISTRY) continue;
      const text = fs.readFileSync(file, 'utf8');
      const own = path.relative(JOBS_DIR, file).split(path.sep)[0];
      const named = names.filter((n) => n !== own && new RegExp(`(['"\`])${n}\\1`).test(text));
      if (named.length > (file.startsWith(JOBS_DIR + path.sep) ? 0 : 1))
        offenders.push(`${path.relative(ROOT, file)} names ${named.join(', ')}`);
    }
    expect(offenders).toEqual([]);
  });
});
