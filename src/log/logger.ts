import { pino, type Logger, type DestinationStream } from 'pino';
import { LogDestination } from './destination.js';

export type { Logger };

export interface LoggerOptions {
  readonly level?: string;
  /**
   * Where lines go; defaults to stdout through a LogDestination (never blocks or throws;
   * human-readable on a terminal, JSON lines otherwise).
   */
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
    options.destination ?? new LogDestination({ pretty: process.stdout.isTTY === true }),
  );
}

/** A logger that drops everything, for tests and library use. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
