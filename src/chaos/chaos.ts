import { setTimeout as sleep } from 'node:timers/promises';
import type { WireChunk, WireSource } from '../message/wire-source.js';
import type { FaultCode, Pop3Faults } from '../pop3/faults.js';
import type { SmtpFaults, SmtpStage } from '../smtp/faults.js';
import { SmtpReplyError } from '../smtp/reply.js';

interface Targeted {
  /** Only this user's sessions; null: everyone. */
  readonly user: string | null;
  /** Chance per occasion, 0 to 1. */
  readonly probability: number;
  /** How many more times it may strike; null: no end. */
  remaining: number | null;
}

export interface Pop3ErrorRule extends Targeted {
  readonly command: string;
  readonly code: FaultCode;
}

export interface DropRule extends Targeted {
  /** Message octets sent before the connection is dropped. */
  readonly afterBytes: number;
}

export interface TrickleRule extends Targeted {
  readonly bytesPerSecond: number;
}

export interface SmtpRule {
  readonly stage: SmtpStage;
  /** A 4xx or 5xx reply code. */
  readonly code: number;
  readonly probability: number;
  remaining: number | null;
}

export interface ChaosRules {
  readonly pop3Errors: Pop3ErrorRule[];
  readonly retrDrop: DropRule | null;
  readonly trickle: TrickleRule | null;
  readonly smtp: SmtpRule[];
}

const TEXTS: Readonly<Record<FaultCode, string>> = {
  'IN-USE': 'Maildrop is locked by another session',
  'LOGIN-DELAY': 'Minimum time between logins not reached',
  'SYS/TEMP': 'Temporary failure; try again later',
};

const ENHANCED: Readonly<Record<number, string>> = { 421: '4.3.2', 450: '4.2.1', 451: '4.3.0', 452: '4.2.2', 550: '5.1.1', 551: '5.1.6', 552: '5.2.2', 553: '5.1.3', 554: '5.7.1' };

export class ChaosDisabledError extends Error {
  override readonly name = 'ChaosDisabledError';
}

/**
 * The chaos switch: faults on demand in POP3 (an error code on a chosen command, a RETR cut
 * off after N bytes, a trickle of N bytes/s) and SMTP (a chosen reply with a probability).
 * Off unless `[chaos] enabled` or the test helper turns it on; with no rules it does nothing.
 */
export class Chaos implements Pop3Faults, SmtpFaults {
  private rules: ChaosRules = emptyRules();
  private readonly listeners: ((rules: ChaosRules) => Promise<void> | void)[] = [];
  private pending: Promise<void> = Promise.resolve();

  constructor(
    readonly enabled: boolean,
    private readonly random: () => number = Math.random,
  ) {}

  get current(): ChaosRules {
    return this.rules;
  }

  set(rules: ChaosRules): void {
    if (!this.enabled) throw new ChaosDisabledError('chaos is off: set [chaos] enabled = true');
    this.rules = rules;
    this.changed();
  }

  /**
   * Calls `listener` with the rules whenever they are set or cleared (POP3 workers take
   * them); what it returns is awaited by applied().
   */
  watch(listener: (rules: ChaosRules) => Promise<void> | void): void {
    this.listeners.push(listener);
  }

  /** Resolves once every watcher has taken the last change (the API answers after that). */
  async applied(): Promise<void> {
    await this.pending;
  }

  private changed(): void {
    const rules = this.rules;
    this.pending = Promise.all(this.listeners.map(async (listener) => listener(rules))).then(() => undefined);
  }

  clear(): void {
    this.rules = emptyRules();
    this.changed();
  }

  commandError(verb: string, user: string | null): { code: FaultCode; text: string } | null {
    const rule = this.rules.pop3Errors.find((r) => r.command === verb && this.strikes(r, user));
    return rule ? { code: rule.code, text: TEXTS[rule.code] } : null;
  }

  message(user: string, source: WireSource): WireSource {
    let result = source;
    const trickle = this.rules.trickle;
    if (trickle && this.strikes(trickle, user)) result = trickled(result, trickle.bytesPerSecond);
    const drop = this.rules.retrDrop;
    if (drop && this.strikes(drop, user)) result = cutOff(result, drop.afterBytes);
    return result;
  }

  reply(stage: SmtpStage): SmtpReplyError | null {
    const rule = this.rules.smtp.find((r) => r.stage === stage && this.strikes(r, null));
    if (!rule) return null;
    return new SmtpReplyError(rule.code, ENHANCED[rule.code] ?? `${Math.floor(rule.code / 100)}.0.0`, 'Injected failure (chaos)');
  }

  /** Whether a rule applies to this user now; counts it down when it does. */
  private strikes(rule: { readonly user?: string | null; readonly probability: number; remaining: number | null }, user: string | null): boolean {
    if (rule.user != null && rule.user !== user) return false;
    if (rule.remaining !== null && rule.remaining <= 0) return false;
    if (rule.probability < 1 && this.random() >= rule.probability) return false;
    if (rule.remaining !== null) rule.remaining--;
    return true;
  }
}

function emptyRules(): ChaosRules {
  return { pop3Errors: [], retrDrop: null, trickle: null, smtp: [] };
}

/** Ends the message with an error after `limit` octets: the session then drops the connection. */
function cutOff(source: WireSource, limit: number): WireSource {
  return {
    close: () => source.close(),
    chunks: (async function* () {
      let sent = 0;
      for await (const chunk of source.chunks) {
        const room = limit - sent;
        if (chunk.bytes.length < room) {
          sent += chunk.bytes.length;
          yield chunk;
          continue;
        }
        const last = Buffer.from(chunk.bytes.subarray(0, room));
        chunk.release?.();
        if (last.length > 0) {
          // The writer holds each chunk until the next arrives: an empty one sends this one out.
          yield { bytes: last, flush: true };
          yield { bytes: Buffer.alloc(0) };
        }
        throw new Error(`chaos: connection dropped after ${limit} octets`);
      }
    })(),
  };
}

/** Sends the message in slices of a tenth of the rate, a tenth of a second apart. */
function trickled(source: WireSource, bytesPerSecond: number): WireSource {
  const slice = Math.max(1, Math.floor(bytesPerSecond / 10));
  return {
    close: () => source.close(),
    chunks: (async function* (): AsyncGenerator<WireChunk> {
      for await (const chunk of source.chunks) {
        // A copy: the original buffer goes back to its pool at once.
        const bytes = Buffer.from(chunk.bytes);
        chunk.release?.();
        for (let at = 0; at < bytes.length; at += slice) {
          yield { bytes: bytes.subarray(at, at + slice), flush: true };
          await sleep(100);
        }
      }
    })(),
  };
}
