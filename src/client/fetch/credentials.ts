import { spawn } from 'node:child_process';

/** The password or token could not be obtained. Not temporary: the setup needs fixing. */
export class CredentialsError extends Error {
  override readonly name = 'CredentialsError';
  readonly temporary = false;
}

export type SecretSource =
  | { readonly kind: 'value'; readonly value: string }
  | { readonly kind: 'env'; readonly variable: string }
  | { readonly kind: 'command'; readonly command: string };

const COMMAND_TIMEOUT_MS = 60_000;
const MAX_OUTPUT = 64 * 1024;

/**
 * Turns a configured source into the function the fetcher calls at each connection: an
 * environment variable is read then (so a daemon sees changes), a command (`pass show
 * mail`, an OAuth token helper) is run then, and its first output line is the secret.
 */
export function secretFrom(source: SecretSource): () => Promise<string> {
  switch (source.kind) {
    case 'value':
      return async () => source.value;
    case 'env':
      return async () => {
        const value = process.env[source.variable];
        if (value === undefined || value === '') throw new CredentialsError(`environment variable ${source.variable} is not set`);
        return value;
      };
    case 'command':
      return () => runCommand(source.command);
  }
}

function runCommand(command: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn('/bin/sh', ['-c', command], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => {
      if (out.length < MAX_OUTPUT) out += d.toString('utf8');
    });
    child.stderr.on('data', (d: Buffer) => {
      if (err.length < 1024) err += d.toString('utf8');
    });
    const timer = setTimeout(() => child.kill('SIGKILL'), COMMAND_TIMEOUT_MS);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(new CredentialsError(`password command failed to start: ${e.message}`));
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      // The output is the secret: it never goes into an error message.
      if (code !== 0) return reject(new CredentialsError(`password command ${code === null ? `killed by ${signal}` : `exited with ${code}`}${err.trim() ? `: ${err.trim().split('\n')[0]}` : ''}`));
      const line = out.split(/\r?\n/)[0] ?? '';
      if (line === '') return reject(new CredentialsError('password command printed nothing'));
      resolve(line);
    });
  });
}
