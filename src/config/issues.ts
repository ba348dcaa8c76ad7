import type { z } from 'zod';

/**
 * What a setting wants, said the way a person editing the file needs it ("interval: a
 * duration such as "5m"") rather than the validator's wording ("expected string, received
 * number"). Keys are the last part of the dotted path; the rest fall back to the type.
 */
const WANTED: Readonly<Record<string, string>> = {
  interval: 'a duration such as "5m"',
  deliver: 'a destination such as "maildir:~/Maildir", "mbox:~/mbox", "mda:procmail -d alice" or "smtp://localhost"',
  server: 'a URL such as "pop3s://alice@mail.example.org"',
  port: 'a port number (1-65535)',
  timeout: 'a number of seconds',
  max_size: 'a size in octets',
  data_dir: 'a directory path',
  state_dir: 'a directory path',
  ca_file: 'a file path',
  cert: 'a PEM certificate file path',
  key: 'a PEM private key file path',
  level: 'a log level such as "info"',
  host: 'a host name or address such as "127.0.0.1"',
};

const TYPES: Readonly<Record<string, string>> = {
  string: 'a string (in quotes)',
  number: 'a number',
  int: 'a whole number',
  boolean: 'true or false',
  array: 'a list [ ... ]',
  object: 'a table',
};

/** One line per problem: "path: what is wanted (what was found)". */
export function describeConfigIssues(issues: readonly z.core.$ZodIssue[]): string[] {
  return issues.flatMap((issue) => {
    const path = issue.path.map((p) => (typeof p === 'number' ? `[${p}]` : `.${String(p)}`)).join('').replace(/^\./, '');
    const key = [...issue.path].reverse().find((p): p is string => typeof p === 'string') ?? '';
    if (issue.code === 'unrecognized_keys') return issue.keys.map((k) => `${path ? `${path}.` : ''}${k}: unknown key`);
    const where = path || '(top level)';
    const wanted = WANTED[key];
    switch (issue.code) {
      case 'invalid_type': {
        const received = /received (\w+)/.exec(issue.message)?.[1];
        const want = wanted ?? TYPES[issue.expected] ?? issue.expected;
        if (received === 'undefined') return [`${where}: missing; wanted ${want}`];
        return [`${where}: wanted ${want}${received ? `, not a ${received}` : ''}`];
      }
      case 'invalid_value':
        return [`${where}: wanted one of ${issue.values.map((v) => JSON.stringify(v)).join(', ')}`];
      case 'too_small':
      case 'too_big': {
        const bound = issue.code === 'too_small' ? `at least ${String(issue.minimum)}` : `at most ${String(issue.maximum)}`;
        const unit = issue.origin === 'string' ? ' characters' : issue.origin === 'array' ? ' entries' : '';
        return [`${where}: wanted ${wanted ?? (issue.origin === 'string' ? 'a non-empty string' : `a value ${bound}${unit}`)}${wanted ? ` (${bound}${unit})` : ''}`];
      }
      default:
        return [`${where}: ${wanted ? `wanted ${wanted}; ` : ''}${issue.message}`];
    }
  });
}
