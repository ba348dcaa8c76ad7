import { pino, type Logger, type DestinationStream } from 'pino';

export type { Logger };

export interface LoggerOptions {
  readonly level?: string;
  /** Where JSON lines go; defaults to stdout. */
  readonly destination?: DestinationStream;
}

/** JSON lines, one object per event; secrets never reach it (see redact). */
export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'postel' },
      // Belt and braces: no code path logs these fields, but a mistake must not leak them.
      redact: { paths: ['password', 'secret', '*.password', '*.secret'], censor: '[redacted]' },
    },
    options.destination ?? pino.destination({ fd: 1, sync: false }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
