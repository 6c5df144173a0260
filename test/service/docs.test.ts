// The README's configuration table documents every config variable with its real default.
import t from 'tap';
import { readFileSync } from 'node:fs';
import { CONFIG_ENV_NAMES, loadConfig } from '../../src/config.js';

const doc = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const defaults = loadConfig({});

t.test('every variable is in the table with its default', async (t) => {
  for (const name of CONFIG_ENV_NAMES) {
    const row = doc.split('\n').find((l) => l.startsWith(`| \`${name}\` |`));
    t.ok(row, `${name} has a row`);
    const value = defaults[name];
    const shown = value === undefined ? '*(unset)*' : `\`${Array.isArray(value) ? value.join(',') : String(value)}\``;
    t.match(row ?? '', `| ${shown} |`, `${name} default ${shown}`);
  }
});
