// Writes docs/configuration.md from the config schema (src/config/schema.ts).
import fs from 'node:fs';
import { renderConfigurationDoc } from '../src/config/docs.js';

fs.writeFileSync(new URL('../docs/configuration.md', import.meta.url), renderConfigurationDoc());
