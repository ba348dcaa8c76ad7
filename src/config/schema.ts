import { hostname } from 'node:os';
import { z } from 'zod';

const port = z.number().int().min(0).max(65535);
const positive = z.number().int().min(1);

/**
 * Every configuration key with its default. The TOML file uses these names; README.md
 * documents them. Unknown keys are errors, so a typo does not silently do nothing.
 */
export const configSchema = z
  .object({
    /** Where users, mail and state live (relative paths are taken from the working directory). */
    data_dir: z.string().min(1).default('./data'),
    /** Name used in greetings and Maildir file names. */
    hostname: z.string().min(1).default(hostname()),
    pop3: z
      .object({
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(1110),
        max_connections: positive.default(1000),
        max_connections_per_ip: positive.default(50),
        /** Autologout timer in seconds; RFC 1939 asks for at least 600. */
        idle_timeout: positive.default(600),
        /** Longest command line accepted, CRLF included; RFC 2449 clients send at most 255. */
        max_line_length: z.number().int().min(255).max(65536).default(1024),
        max_bad_commands: positive.default(20),
        max_auth_failures: positive.default(3),
        /** Milliseconds to wait before answering a failed login. */
        auth_failure_delay_ms: z.number().int().min(0).max(60000).default(2000),
        /** RFC 2449 LOGIN-DELAY in seconds (0: none). */
        login_delay: z.number().int().min(0).default(0),
        /** RFC 2449 EXPIRE: days after retrieval, or "NEVER". */
        expire: z.union([z.literal('NEVER'), z.number().int().min(0)]).default('NEVER'),
        /** RFC 1939 APOP; users need a {PLAIN} password for it. */
        apop: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
