// .dockerignore semantics (moby/patternmatcher, as BuildKit applies them): patterns are cleaned
// paths relative to the context root, `!` marks an exception, the LAST matching pattern decides,
// and a pattern that matches a parent directory also matches everything below it.
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';

export interface IgnorePattern {
  exclude: boolean;
  re: RegExp;
  text: string;
}

export function parseDockerignore(text: string): IgnorePattern[] {
  const out: IgnorePattern[] = [];
  for (const rawLine of text.split(/\r?\n/)) {
    let line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    let exclude = true;
    if (line.startsWith('!')) {
      exclude = false;
      line = line.slice(1).trim();
    }
    const cleaned = posix.normalize(line).replace(/^\/+/, '').replace(/\/+$/, '');
    out.push({ exclude, re: globToRegExp(cleaned), text: rawLine.trim() });
  }
  return out;
}

/** Go filepath.Match plus `**` (any number of path segments), anchored at the context root. */
function globToRegExp(glob: string): RegExp {
  let re = '';
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i];
    if (c === '*' && glob[i + 1] === '*') {
      // `**/` matches zero or more directories; a trailing `**` matches anything.
      if (glob[i + 2] === '/') {
        re += '(?:.*/)?';
        i += 2;
      } else {
        re += '.*';
        i += 1;
      }
    } else if (c === '*') re += '[^/]*';
    else if (c === '?') re += '[^/]';
    else re += c.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** True when `relPath` (posix, relative to the context root) is sent to the builder. */
export function isIncluded(patterns: IgnorePattern[], relPath: string): boolean {
  const parts = posix.normalize(relPath).split('/');
  const candidates = parts.map((_, i) => parts.slice(0, i + 1).join('/'));
  let included = true;
  for (const p of patterns) {
    if (candidates.some((c) => p.re.test(c))) included = !p.exclude;
  }
  return included;
}

export function readDockerignore(path: string): IgnorePattern[] {
  return parseDockerignore(readFileSync(path, 'utf8'));
}
