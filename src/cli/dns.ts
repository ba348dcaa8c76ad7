import type { Command } from 'commander';
import { srvRecords } from '../autoconfig/documents.js';
import { clientSettings } from '../autoconfig/settings.js';
import { loadFor, withCommonOptions, type CommonOptions } from './common.js';

export function registerDns(program: Command): void {
  withCommonOptions(program.command('dns'))
    .description('print the RFC 6186 SRV records (and autoconfig names) to publish for the mail domains')
    .action(async (options: CommonOptions) => {
      const settings = clientSettings(await loadFor(options));
      const lines = [`; RFC 6186 service records for ${settings.host}, from [autoconfig] (zone-file form)`];
      for (const domain of settings.domains) {
        lines.push('', ...srvRecords(settings, domain));
        // Thunderbird looks for autoconfig.DOMAIN; Outlook for autodiscover.DOMAIN.
        lines.push(`autoconfig.${domain}. 3600 IN CNAME ${settings.host}.`, `autodiscover.${domain}. 3600 IN CNAME ${settings.host}.`);
      }
      process.stdout.write(`${lines.join('\n')}\n`);
    });
}
