import { hostname } from 'node:os';
import { z } from 'zod';
import { compileUidlFormat, DEFAULT_DOVECOT_UIDL_FORMAT } from '../store/maildir/dovecot-uidl-format.js';

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
        /** Failed logins in one session before it is closed ([auth] has the budgets across sessions). */
        max_auth_failures: positive.default(3),
        /** RFC 2449 LOGIN-DELAY in seconds (0: none). */
        login_delay: z.number().int().min(0).default(0),
        /** RFC 2449 EXPIRE: days after retrieval, or "NEVER". */
        expire: z.union([z.literal('NEVER'), z.number().int().min(0)]).default('NEVER'),
        /** RFC 1939 APOP; users need a {PLAIN} password for it. */
        apop: z.boolean().default(false),
        /** Expect a HAProxy PROXY v1/v2 header on this listener; connections without one are closed. */
        proxy_protocol: z.boolean().default(false),
        /** POP3 worker processes (node:cluster) sharing the listeners; 1 serves POP3 in the main process. */
        workers: z.number().int().min(1).max(256).default(1),
        /**
         * Dovecot's pop3_uidl_format, for messages found in a Maildir Dovecot served: they keep
         * the UIDL Dovecot showed. "" turns inheriting UIDLs (from Dovecot and Courier) off.
         */
        dovecot_uidl_format: z
          .string()
          .default(DEFAULT_DOVECOT_UIDL_FORMAT)
          .superRefine((format, ctx) => {
            if (format === '') return;
            try {
              compileUidlFormat(format);
            } catch (err) {
              ctx.addIssue({ code: 'custom', message: err instanceof Error ? err.message : String(err) });
            }
          }),
      })
      .strict()
      .prefault({}),
    /** RFC 8314 implicit-TLS POP3 (production port 995); limits are shared with [pop3]. */
    pop3s: z
      .object({
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        port: port.default(1995),
        proxy_protocol: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    /** Certificates for STLS, implicit TLS and STARTTLS. */
    tls: z
      .object({
        /** PEM certificate chain; empty: a self-signed certificate for localhost in DATA/tls/. */
        cert: z.string().default(''),
        /** PEM private key of `cert`. */
        key: z.string().default(''),
        /** More certificates, chosen by SNI from the DNS names they carry. */
        sni: z.array(z.object({ cert: z.string().min(1), key: z.string().min(1) }).strict()).default([]),
        min_version: z.enum(['TLSv1.2', 'TLSv1.3']).default('TLSv1.2'),
        /** OpenSSL cipher list for TLS 1.2; empty: Node's defaults. */
        ciphers: z.string().default(''),
        /** CA bundle for client certificates (SASL EXTERNAL); empty: none are requested. */
        client_ca: z.string().default(''),
      })
      .strict()
      .refine((t) => (t.cert === '') === (t.key === ''), { message: 'tls.cert and tls.key go together', path: ['key'] })
      .prefault({}),
    auth: z
      .object({
        /** Refuse plaintext logins on connections that are neither TLS nor from trusted_networks. */
        disable_plaintext_auth: z.boolean().default(true),
        /** Networks (CIDR) whose clients count as secure; also what PROXY-protocol peers report is checked. */
        trusted_networks: z.array(z.string().min(1)).default(['127.0.0.0/8', '::1/128']),
        /** Seconds over which failed logins are counted; also how long a blocked address stays blocked. */
        failure_window: positive.default(900),
        /** Failed logins from one address in the window before the address is blocked (attempts refused unchecked). */
        max_failures_per_ip: positive.default(20),
        /**
         * Seconds: cap of the growing delays. Failures for a user make logins from addresses that
         * never logged in as that user wait (1, 2, 4 ... s, at most this); failures from an address
         * delay its next failures' answers the same way. Never a refusal of the right password.
         */
        max_user_delay: z.number().int().min(0).max(300).default(15),
        /** Milliseconds after the attempt began that every failed login is answered: hides which scheme a user's hash is in, or whether the user exists. */
        failure_response_ms: z.number().int().min(0).max(60000).default(2000),
        /** Seconds a connection may stay without logging in (POP3 and submission), from accept: PROXY header and TLS handshake included. */
        login_timeout: positive.default(60),
        /** Peers (CIDRs) allowed to send a PROXY header; on a PROXY listener, connections from anywhere else are closed. */
        proxy_trusted_networks: z.array(z.string().min(1)).default([]),
      })
      .strict()
      .prefault({}),
    /** SASL (RFC 5034 AUTH) for POP3, and for SMTP submission. */
    sasl: z
      .object({
        /**
         * Offered in this order. Also possible: CRAM-MD5 (users with {PLAIN} secrets only),
         * OAUTHBEARER and XOAUTH2 (need [oauth]), EXTERNAL (needs tls.client_ca).
         */
        mechanisms: z.array(z.string().min(1)).default(['SCRAM-SHA-256-PLUS', 'SCRAM-SHA-256', 'PLAIN', 'LOGIN']),
        /** PBKDF2 iterations for SCRAM keys of new passwords (RFC 7677: at least 4096). */
        scram_iterations: z.number().int().min(4096).max(10_000_000).default(100_000),
        /** Random key for unknown users' stand-in SCRAM salts, relative to data_dir; made on first start. */
        secret_file: z.string().min(1).default('sasl-secret'),
      })
      .strict()
      .prefault({}),
    /** OAuth 2.0 bearer tokens (JWTs) for OAUTHBEARER and XOAUTH2, checked offline. */
    oauth: z
      .object({
        /** The `iss` tokens must carry; required when an OAuth mechanism is enabled. */
        issuer: z.string().default(''),
        /** Accepted `aud` values; required with issuer. */
        audience: z.array(z.string().min(1)).default([]),
        /** JWKS, a single JWK, or PEM public keys; relative to data_dir. */
        keys_file: z.string().default(''),
        /** Claims tried in order for the user name. */
        user_claims: z.array(z.string().min(1)).default(['email', 'sub']),
        leeway_seconds: z.number().int().min(0).max(3600).default(60),
        /** A scope the token must grant; empty: none. */
        required_scope: z.string().default(''),
        /** Told to clients whose token failed (RFC 7628 section 3.2.2). */
        scope: z.string().default(''),
        openid_configuration: z.string().default(''),
      })
      .strict()
      .prefault({}),
    /** Where mail is kept: Maildirs under data_dir (the default), or PostgreSQL shared by several nodes. */
    store: z
      .object({
        /** postgres://user:password@host:port/database; empty: Maildir. POSTEL_STORE_URL overrides it. */
        url: z
          .string()
          .default('')
          .refine((u) => u === '' || /^postgres(ql)?:\/\//.test(u), { message: 'must be empty (Maildir) or a postgres:// URL' }),
        /** Create or migrate the schema when `serve` starts (otherwise: `postel db migrate`). */
        migrate: z.boolean().default(false),
        /** Seconds a maildrop lock lasts without renewal: how long a dead node's sessions keep their maildrops. */
        lease_seconds: z.number().int().min(3).max(3600).default(30),
        /** Database connections per postel process. */
        max_connections: positive.max(1000).default(10),
      })
      .strict()
      .prefault({}),
    /** The HTTP API, metrics, health checks and client autoconfiguration. */
    http: z
      .object({
        enabled: z.boolean().default(true),
        /** Beyond loopback the listener runs TLS with the POP3 certificates ([tls]). */
        host: z.string().min(1).default('127.0.0.1'),
        /** Mailpit's port, familiar to its users. */
        port: port.default(8025),
        /**
         * HTTPS with the [tls] certificates. Unset: on beyond loopback, off on loopback; true:
         * on loopback too; false: plain HTTP beyond loopback as well (behind a proxy that
         * terminates TLS; Basic logins then need trusted_networks).
         */
        tls: z.boolean().optional(),
        /** Largest request body in octets (POST /api/v1/send carries whole messages). */
        max_body_size: positive.default(10 * 1024 * 1024),
        /** The admin token's file, relative to data_dir; made on first start. */
        admin_token_file: z.string().min(1).default('admin-token'),
      })
      .strict()
      .prefault({}),
    /**
     * What mail clients are told by the autoconfig files, `postel dns` and the Apple profile,
     * when it differs from the listeners (a NAT, a proxy, production ports): 0 takes the
     * listener's port, -1 says the service is not offered.
     */
    autoconfig: z
      .object({
        /** Host name clients connect to; empty: `hostname`. */
        host: z.string().default(''),
        /** Mail domains to configure clients for; empty: `hostname` and smtp.local_domains. */
        domains: z.array(z.string().min(1)).default([]),
        pop3s_port: z.number().int().min(-1).max(65535).default(0),
        pop3_port: z.number().int().min(-1).max(65535).default(0),
        submission_port: z.number().int().min(-1).max(65535).default(0),
        submissions_port: z.number().int().min(-1).max(65535).default(0),
        display_name: z.string().min(1).default('postel'),
      })
      .strict()
      .prefault({}),
    /** Prometheus metrics (GET /metrics). */
    metrics: z
      .object({
        /**
         * Record the POP3, SMTP and store series. Off only to measure what recording costs
         * (bench --metrics-overhead): /metrics then has the process metrics and zeros.
         */
        enabled: z.boolean().default(true),
      })
      .strict()
      .prefault({}),
    /** Faults on demand for testing POP3 and SMTP clients (PUT /api/v1/chaos); never on a real server. */
    chaos: z
      .object({
        enabled: z.boolean().default(false),
      })
      .strict()
      .prefault({}),
    log: z
      .object({
        level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
      })
      .strict()
      .prefault({}),
    /** Mail intake: SMTP (MX), LMTP (from an MTA) and submission (local users sending). */
    smtp: z
      .object({
        /** Whether the SMTP listener runs. */
        enabled: z.boolean().default(true),
        host: z.string().min(1).default('127.0.0.1'),
        /** 25 in production; 2525 lets the embedded default run without root. */
        port: port.default(2525),
        /** Expect a HAProxy PROXY v1/v2 header, from [auth] proxy_trusted_networks only; other peers are closed. */
        proxy_protocol: z.boolean().default(false),
        /** Domains whose mail is stored here, besides `hostname` and the domains of address-form users and aliases. */
        local_domains: z.array(z.string().min(1)).default(['localhost']),
        /** Postfix virtual-style aliases file, relative to data_dir; a missing file means no aliases. */
        aliases_file: z.string().min(1).default('aliases'),
        /** Largest message in octets: announced with SIZE, checked at MAIL FROM and during DATA. */
        max_message_size: positive.default(26214400),
        /** Recipients per message; more get 452 4.5.3 (the client sends the rest in another transaction). */
        max_recipients: positive.default(100),
        /** Per listener; over it new connections get 421. */
        max_connections: positive.default(100),
        max_connections_per_ip: positive.default(20),
        /** Seconds of client silence before the session is closed (RFC 5321 4.5.3.2.7: at least 5 minutes). */
        idle_timeout: positive.default(300),
        /** Refused commands (5xx replies) in one session before it is closed with 421. */
        max_bad_commands: positive.default(20),
        lmtp: z
          .object({
            /** Whether the LMTP listener runs. */
            enabled: z.boolean().default(true),
            host: z.string().min(1).default('127.0.0.1'),
            port: port.default(2424),
            /** A unix socket path (relative to data_dir); when set, LMTP listens there instead of host:port. */
            socket: z.string().default(''),
            /** As [smtp] proxy_protocol, for LMTP on TCP (not on a unix socket). */
            proxy_protocol: z.boolean().default(false),
          })
          .strict()
          .prefault({}),
        /** AUTH is offered without TLS only where [auth] allows plaintext logins (trusted_networks). */
        submission: z
          .object({
            /** Whether the submission listener (RFC 6409, STARTTLS) runs. */
            enabled: z.boolean().default(true),
            host: z.string().min(1).default('127.0.0.1'),
            /** 587 in production. */
            port: port.default(1587),
            /** RFC 8314 implicit-TLS submission; needs TLS certificates. */
            implicit_tls: z.boolean().default(false),
            /** 465 in production. */
            implicit_tls_port: port.default(1465),
            /** As [smtp] proxy_protocol, for both submission ports. */
            proxy_protocol: z.boolean().default(false),
            /** Failed AUTH attempts in one session before it is closed ([auth] has the budgets across sessions). */
            max_auth_failures: positive.default(3),
            /**
             * RFC 6409 6.1: "strict" refuses (553 5.7.1) a MAIL FROM that is not one of the
             * authenticated user's own addresses or an alias resolving to the user; "off" takes any.
             */
            sender_login_check: z.enum(['strict', 'off']).default('strict'),
          })
          .strict()
          .prefault({}),
        smarthost: z
          .object({
            /** Relay for mail to non-local domains from authenticated submission; empty: such mail is refused. */
            host: z.string().default(''),
            port: port.default(587),
            /** "starttls" (required), "tls" (implicit, usually port 465) or "none" (a trusted relay on this host only). */
            security: z.enum(['starttls', 'tls', 'none']).default('starttls'),
            /** Login at the smarthost; empty for none. */
            user: z.string().default(''),
            password: z.string().default(''),
            /** Verify the smarthost's certificate; turn off only for a test relay with a self-signed one. */
            tls_verify: z.boolean().default(true),
          })
          .strict()
          .prefault({}),
        queue: z
          .object({
            /** Seconds to wait before each retry of a failed delivery; the last one repeats. */
            retry_intervals: z.array(positive).min(1).default([60, 300, 900, 1800, 3600]),
            /** Seconds after which undeliverable mail is bounced to its sender (Postfix: 5 days). */
            max_age: positive.default(432000),
          })
          .strict()
          .prefault({}),
      })
      .strict()
      .prefault({}),
  })
  .strict();

export type Config = z.infer<typeof configSchema>;
