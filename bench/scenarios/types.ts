import type { LoadPool } from '../load/pool.js';
import type { PopLoad } from '../load/pop-load.js';
import type { CpuShares, Metric } from '../measure.js';
import type { ServerName, ServerUnderTest } from '../servers/common.js';
import type { Settings } from '../settings.js';
import type { World, WorldPart } from '../world.js';

export interface ScenarioContext {
  readonly server: ServerUnderTest;
  /** Worker threads: idle sessions and SMTP. */
  readonly pool: LoadPool;
  /** Churn, RETR and listings: the C generator where it could be built. */
  readonly load: PopLoad;
  readonly settings: Settings;
  readonly world: World;
  readonly progress: (msg: string) => void;
  /** This round (0-based) of `rounds`; servers alternate between rounds (see main.ts). */
  readonly round: number;
  readonly rounds: number;
}

export interface ScenarioResult {
  readonly metrics: Metric[];
  /** CPU shares over the scenario's main measurement. */
  readonly cpu?: CpuShares;
  /** Facts worth keeping that are not compared, e.g. errors or sessions resumed. */
  readonly details?: Record<string, unknown>;
}

export interface Scenario {
  readonly name: string;
  /** The users and corpora it needs: a run makes only what its scenarios use. */
  readonly uses: readonly WorldPart[];
  /** Servers this scenario applies to (default: both). */
  readonly only?: ServerName;
  /** Why a server is not measured (e.g. Dovecot has no SMTP listener). */
  readonly skipReason?: (server: ServerUnderTest) => string | undefined;
  /**
   * How many rounds to split the scenario into. Rounds alternate between the servers
   * (A B, B A, ...), so that load from elsewhere on the machine falls on both alike; each
   * figure is then the median over the rounds. Default 1.
   */
  readonly rounds?: (settings: Settings) => number;
  run(ctx: ScenarioContext): Promise<ScenarioResult>;
}
