import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { Config } from '../../src/config/config.js';
import { renderConfigurationDoc } from '../../src/config/docs.js';
import { readKey } from '../../src/config/read-key.js';
import { CONFIG_SCHEMA, type KeySpec } from '../../src/config/schema.js';
import { UsageError } from '../../src/util/errors.js';
import { ROOT } from '../support/cli.js';

const entries = Object.entries(CONFIG_SCHEMA) as [string, KeySpec][];

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    return e.isDirectory() ? sourceFiles(p) : p.endsWith('.ts') ? [p] : [];
  });
}

/** `tables.<table>.name` matches `tables.cache.name`. */
const keyPattern = (key: string) => new RegExp(`^${key.replace(/\./g, '\\.').replace(/<[^>]+>/g, '[^.]+')}$`);
const patterns = entries.map(([key]) => keyPattern(key));

describe('the config schema', () => {
  it('is what docs/configuration.md says (run `npm run docs:config` after changing it)', () => {
    const doc = fs.readFileSync(path.join(ROOT, 'docs/configuration.md'), 'utf8');
    expect(doc).toBe(renderConfigurationDoc());
  });

  it('names every key the code reads', () => {
    const read = new Set<string>();
    const access =
      /\.(?:value|valueOr|number|string|boolean|stringList|path|section|get)\(\s*'([a-zA-Z]+(?:\.[a-zA-Z_]+)*)'/g;
    for (const file of sourceFiles(path.join(ROOT, 'src'))) {
      for (const m of fs.readFileSync(file, 'utf8').matchAll(access)) if (m[1]?.includes('.')) read.add(m[1]);
    }
    expect(read.size).toBeGreaterThan(30);
    const missing = [...read].filter((key) => !patterns.some((p) => p.test(key)));
    expect(missing).toEqual([]);
  });

  it.each(entries.filter(([, s]) => s.default !== undefined))('%s: its default passes its own checks', (key, spec) => {
    expect(() => readKey(spec, spec.default, key, '/')).not.toThrow();
  });

  it('documents every key with its section and a line of text', () => {
    for (const [key, spec] of entries) {
      expect(spec.doc.length, key).toBeGreaterThan(10);
      expect(spec.section, key).not.toBe('');
    }
  });
});

describe('Config.value', () => {
  const config = (data: Record<string, unknown>) =>
    new Config(data, '/etc/webjobs/webjobs.config.json', '/etc/webjobs');

  it('gives the default when the key is absent, and the value when present', () => {
    expect(config({}).value('backup.level')).toBe(9);
    expect(config({ backup: { level: 3 } }).value('backup.level')).toBe(3);
    expect(config({}).value('mail.admins')).toEqual([]);
    expect(config({}).value('warm.rate')).toBeUndefined();
  });

  it('refuses a value out of range or of the wrong type, naming the key (exit 2)', () => {
    expect(() => config({ backup: { level: 10 } }).value('backup.level')).toThrow(
      new UsageError('config backup.level must be at most 9, got 10'),
    );
    expect(() => config({ backup: { level: 'x' } }).value('backup.level')).toThrow(
      /config backup.level must be a number/,
    );
    expect(() => config({ cleanupCache: { layout: 'rails' } }).value('cleanupCache.layout')).toThrow(
      /config cleanupCache.layout must be "reference" or "laravel", got "rails"/,
    );
    expect(() => config({ retry: { backoffSeconds: [1, -1] } }).value('retry.backoffSeconds')).toThrow(UsageError);
  });

  it('resolves a configured path against the config file, a default one against the working directory', () => {
    expect(config({ backup: { dir: 'backups' } }).value('backup.dir')).toBe('/etc/webjobs/backups');
    expect(config({}).value('backup.dir')).toBe(path.resolve(process.cwd(), 'var/backups'));
  });

  it('lets a flag win over the key, checked against the same range and named as the flag', () => {
    const c = config({ backup: { level: 3 } });
    expect(c.valueOr('backup.level', undefined, '--level')).toBe(3);
    expect(c.valueOr('backup.level', 5, '--level')).toBe(5);
    expect(() => c.valueOr('backup.level', 0, '--level')).toThrow(new UsageError('--level must be between 1 and 9'));
  });

  it('hands out copies of list defaults, so a caller cannot change the schema', () => {
    const first = config({}).value('cleanup.tempDirs');
    first.push('/tmp');
    expect(config({}).value('cleanup.tempDirs')).not.toContain('/tmp');
  });
});
