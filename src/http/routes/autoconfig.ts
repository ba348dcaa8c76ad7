import { createRoute, z } from '@hono/zod-openapi';
import { XMLParser } from 'fast-xml-parser';
import { appleMobileconfig, outlookAutodiscover, thunderbirdConfig } from '../../autoconfig/documents.js';
import { domainOf, type ClientSettings } from '../../autoconfig/settings.js';
import type { PostelApp } from '../app.js';
import type { HttpContext } from '../context.js';
import { ApiError } from '../errors.js';

export interface AutoconfigDeps {
  readonly settings: ClientSettings;
  /** Whether a user of this exact name exists (then clients log in with the whole address). */
  readonly userExists: (name: string) => Promise<boolean>;
}

const Address = z.string().max(320).regex(/^[^\s@<>"]+@[^\s@<>"]+$/, 'an address like alice@example.org');
const xmlBody = (description: string) => ({ description, content: { 'application/xml': { schema: z.string() } } });
const notServed = { 404: xmlBody('not a domain served here') };

/**
 * Client autoconfiguration, without credentials: Thunderbird's config-v1.1.xml (both
 * places it looks), Outlook's autodiscover POST, and an Apple .mobileconfig profile.
 */
export function registerAutoconfig(app: PostelApp, deps: AutoconfigDeps): void {
  const { settings } = deps;
  const served = (domain: string): boolean => settings.domains.includes(domain);
  const loginName = async (address: string): Promise<string> => ((await deps.userExists(address)) ? address : address.slice(0, address.lastIndexOf('@')));
  const domainFor = (c: HttpContext, address: string | undefined): string => {
    // Thunderbird asks autoconfig.DOMAIN; the address, when it sends one, decides.
    const host = (c.req.header('host') ?? '').replace(/:\d+$/, '').toLowerCase();
    const domain = address ? domainOf(address) : host.replace(/^autoconfig\./, '');
    if (!served(domain)) throw new ApiError(404, 'not_found', 'no mail domain of that name here');
    return domain;
  };

  for (const path of ['/.well-known/autoconfig/mail/config-v1.1.xml', '/mail/config-v1.1.xml']) {
    app.openapi(
      createRoute({
        method: 'get',
        path,
        summary: "Thunderbird's autoconfig file: POP3 over TLS and STARTTLS, submission",
        request: { query: z.object({ emailaddress: Address.optional().openapi({ param: { name: 'emailaddress', in: 'query' } }) }) },
        responses: { 200: xmlBody('the configuration'), ...notServed },
      }),
      async (c) => {
        const { emailaddress } = c.req.valid('query');
        const domain = domainFor(c, emailaddress);
        const username = emailaddress ? await loginName(emailaddress) : '%EMAILLOCALPART%';
        return c.body(thunderbirdConfig(settings, domain, username), 200, { 'content-type': 'application/xml; charset=utf-8' });
      },
    );
  }

  const parser = new XMLParser({ ignoreAttributes: true, removeNSPrefix: true, processEntities: false });
  for (const path of ['/autodiscover/autodiscover.xml', '/Autodiscover/Autodiscover.xml']) {
    app.openapi(
      createRoute({
        method: 'post',
        path,
        summary: "Outlook's autodiscover (POX): the request names the address",
        request: { body: { content: { 'text/xml': { schema: z.string() } }, required: true } },
        responses: { 200: xmlBody('the settings'), 400: xmlBody('not an autodiscover request'), ...notServed },
      }),
      async (c) => {
        let address: unknown;
        try {
          const request = parser.parse(await c.req.text()) as { Autodiscover?: { Request?: { EMailAddress?: unknown } } };
          address = request.Autodiscover?.Request?.EMailAddress;
        } catch {
          address = undefined;
        }
        const parsed = Address.safeParse(address);
        if (!parsed.success) throw new ApiError(400, 'invalid_request', 'an Autodiscover request with an EMailAddress');
        domainFor(c, parsed.data);
        return c.body(outlookAutodiscover(settings, await loginName(parsed.data)), 200, { 'content-type': 'application/xml; charset=utf-8' });
      },
    );
  }

  app.openapi(
    createRoute({
      method: 'get',
      path: '/apple/mobileconfig',
      summary: 'An Apple configuration profile (.mobileconfig) with a POP3 account for the address',
      request: { query: z.object({ email: Address.openapi({ param: { name: 'email', in: 'query' } }) }) },
      responses: { 200: { description: 'the profile', content: { 'application/x-apple-aspen-config': { schema: z.string() } } }, ...notServed },
    }),
    async (c) => {
      const { email } = c.req.valid('query');
      domainFor(c, email);
      return c.body(appleMobileconfig(settings, email, await loginName(email)), 200, {
        'content-type': 'application/x-apple-aspen-config',
        'content-disposition': 'attachment; filename="postel.mobileconfig"',
      });
    },
  );
}
