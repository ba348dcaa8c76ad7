import { errnoCode } from '../fs/errno.js';
import { CliError, EX_CANTCREAT, EX_CONFIG, EX_IOERR, EX_NOPERM, EX_TEMPFAIL, EX_UNAVAILABLE } from './exit-codes.js';

/**
 * Turns what the environment or configuration did wrong (a port in use, a data directory
 * that is missing, a file, unwritable or full) into one line that names the thing and the
 * fix, with a sysexits code, instead of "internal error" and a stack. Undefined for faults
 * that are not the environment's (bugs keep their stack).
 */
export function environmentError(err: unknown, context: { readonly dataDir?: string } = {}): CliError | undefined {
  const fault = systemCause(err);
  if (fault === undefined) return undefined;
  const code = errnoCode(fault) as string;
  const info = fault as { path?: unknown; dest?: unknown; syscall?: unknown; address?: unknown; port?: unknown; listener?: unknown };
  const path = typeof info.path === 'string' ? info.path : undefined;
  const where = path ?? context.dataDir ?? 'a file';
  const inData = context.dataDir !== undefined && path !== undefined && !path.startsWith(context.dataDir) ? ` (data directory: ${context.dataDir})` : '';
  const listener = typeof info.listener === 'string' ? `${info.listener.toUpperCase()} ` : '';
  const endpoint = info.port !== undefined ? `${String(info.address ?? '')}:${String(info.port)}` : String(info.address ?? '');
  switch (code) {
    case 'EADDRINUSE':
      return new CliError(`${listener}port ${endpoint} is already in use (another postel or mail server?); stop it or choose another port`, EX_UNAVAILABLE);
    case 'EADDRNOTAVAIL':
      return new CliError(`cannot listen ${listener ? `for ${listener.trim()} ` : ''}on ${endpoint}: not an address of this machine; fix the host setting`, EX_CONFIG);
    case 'EACCES':
    case 'EPERM':
      if (info.syscall === 'listen' || info.syscall === 'bind') {
        return new CliError(`no permission to listen ${listener ? `for ${listener.trim()} ` : ''}on ${endpoint}: ports below 1024 need root or CAP_NET_BIND_SERVICE; choose another port`, EX_NOPERM);
      }
      return new CliError(`permission denied on ${where}${inData}; let the user running postel (uid ${process.getuid?.() ?? '?'}) read and write it, or use another --data`, EX_NOPERM);
    case 'ENOSPC':
    case 'EDQUOT':
      return new CliError(`no space left on the file system holding ${where}${inData}; free some space and try again`, EX_TEMPFAIL);
    case 'ENOENT':
      return new CliError(`${where} does not exist${inData}; create it or fix the path`, EX_CONFIG);
    case 'ENOTDIR':
    case 'EISDIR':
    case 'EEXIST':
      return new CliError(`${where} is in the way: ${code === 'EISDIR' ? 'a directory where a file belongs' : 'a file where a directory belongs'}${inData}; move it or use another --data`, EX_CONFIG);
    case 'EROFS':
      return new CliError(`${where} is on a read-only file system${inData}; remount it read-write or use another --data`, EX_CANTCREAT);
    case 'EIO':
      return new CliError(`input/output error on ${where}${inData}; check the disk`, EX_IOERR);
    case 'EMFILE':
    case 'ENFILE':
      return new CliError(`too many open files; raise the limit (ulimit -n)`, EX_TEMPFAIL);
    default:
      return undefined;
  }
}

/** The first error in the cause chain that carries an errno code. */
export function systemCause(err: unknown): unknown {
  for (let e: unknown = err, depth = 0; e !== undefined && e !== null && depth < 8; depth++) {
    const code = errnoCode(e);
    if (code !== undefined && /^E[A-Z0-9]+$/.test(code)) return e;
    e = typeof e === 'object' && 'cause' in e ? (e as { cause?: unknown }).cause : undefined;
  }
  return undefined;
}
