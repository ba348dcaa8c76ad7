import { Command, CommanderError } from 'commander';
import { OAuthKeyError } from '../auth/oauth/index.js';
import { MechanismConfigError } from '../auth/sasl/mechanisms.js';
import { ConfigError } from '../config/load.js';
import { NetworkSpecError } from '../net/trusted-networks.js';
import { TlsConfigError } from '../tls/certificates.js';
import { registerAlias } from './alias.js';
import { registerBench } from './bench.js';
import { registerDb } from './db.js';
import { registerDeliver } from './deliver.js';
import { registerDns } from './dns.js';
import { CliError, EX_CONFIG, EX_SOFTWARE, EX_TEMPFAIL } from './exit-codes.js';
import { StoreError } from '../store/errors.js';
import { dataDirInUse } from './common.js';
import { environmentError } from './environment-errors.js';
import { registerExport } from './export.js';
import { registerFetch } from './fetch.js';
import { registerMailbox } from './mailbox.js';
import { registerServe } from './serve.js';
import { registerUser } from './user.js';

const program = new Command('postel')
  .description('POP3 mail server with Maildir or PostgreSQL storage')
  .version('0.1.0')
  .showHelpAfterError()
  .exitOverride();

registerServe(program);
registerUser(program);
registerAlias(program);
registerDeliver(program);
registerMailbox(program);
registerExport(program);
registerFetch(program);
registerDns(program);
registerBench(program);
registerDb(program);

try {
  await program.parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) process.exit(err.exitCode === 0 ? 0 : 64);
  if (err instanceof CliError) {
    process.stderr.write(`postel: ${err.message}\n`);
    process.exit(err.exitCode);
  }
  if (err instanceof ConfigError || err instanceof MechanismConfigError || err instanceof OAuthKeyError || err instanceof TlsConfigError || err instanceof NetworkSpecError) {
    process.stderr.write(`postel: ${err.message}\n`);
    process.exit(EX_CONFIG);
  }
  if (err instanceof StoreError) {
    process.stderr.write(`postel: ${err.message}\n`);
    process.exit(err.temporary ? EX_TEMPFAIL : EX_SOFTWARE);
  }
  const environment = environmentError(err, { ...(dataDirInUse() !== undefined ? { dataDir: dataDirInUse() as string } : {}) });
  if (environment) {
    process.stderr.write(`postel: ${environment.message}\n`);
    process.exit(environment.exitCode);
  }
  process.stderr.write(`postel: internal error: ${(err as Error).stack ?? String(err)}\n`);
  process.exit(EX_SOFTWARE);
}
