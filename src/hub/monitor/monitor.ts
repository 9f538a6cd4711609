// The fleet monitor, run inside `covenant hub serve`: every `monitor.interval`, the one hub
// process holding the monitor's lock (connection.ts) judges the fleet (hosts silent past their
// cadence, chains in doubt, waves of drift on one control), moves the fleet's deficiencies to
// match in one transaction, then routes and delivers with the host's dispatcher and the
// covenant.yaml hub.yaml names. The other processes only try the lock, and take over at their
// next try when the monitor's process dies. A failure of one round is said and the next round
// starts afresh: nothing is lost, since all the monitor knows is in the database.
import { hostname } from "node:os";
import type { NotifyConfig } from "../../config/types.js";
import type { Channel, ChannelContext } from "../../notifiers/contract.js";
import { routeAndDeliver, type DispatchReport } from "../../notifiers/dispatch.js";
import { makeChannel } from "../../notifiers/registry.js";
import { MonitorConnection, type ConnectionSettings } from "./connection.js";
import { applyFindings, openDeficiencies, type Moves } from "./deficiencies.js";
import { judgeChains, judgeSilent } from "./judge.js";
import { judgeMassDrift, type OpenWave } from "./mass-drift.js";
import { monitorChannelContext } from "./notify.js";
import { PgOutbox } from "./pg-outbox.js";
import type { MonitorSettings } from "./settings.js";

export interface MonitorOptions {
  settings: MonitorSettings;
  connection: ConnectionSettings;
  /** covenant.yaml as loaded (notify.ts); absent: deficiencies are kept and nobody is told */
  notify?: NotifyConfig;
  /** ms since the epoch; injectable for tests */
  now?: () => number;
  makeChannel?: (config: import("../../config/types.js").ChannelConfig, ctx: ChannelContext) => Promise<Channel>;
  context?: ChannelContext;
  log: (line: string) => void;
}

/** What one round did; undefined from a process that is not the monitor. */
export interface Round {
  moves: Moves;
  dispatch?: DispatchReport;
}

export class FleetMonitor {
  private readonly connection: MonitorConnection;
  private readonly now: () => number;
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  private turn: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: MonitorOptions) {
    this.connection = new MonitorConnection(opts.connection);
    this.now = opts.now ?? Date.now;
  }

  /** Rounds every interval until stop(); the first at once. */
  start(): void {
    const loop = () => {
      if (this.stopped) return;
      this.running = this.round()
        .catch((err: Error) => this.opts.log(`hub: the fleet monitor's round failed: ${err.message} (the next round starts afresh)`))
        .finally(() => {
          if (this.stopped) return;
          this.timer = setTimeout(loop, this.opts.settings.intervalMs);
          this.timer.unref();
        });
    };
    loop();
  }

  get leading(): boolean {
    return this.connection.isLeading;
  }

  /** One round: judge, move the deficiencies, tell. Undefined when another process is the monitor. Rounds take turns. */
  round(): Promise<Round | undefined> {
    const next = this.turn.then(() => this.judgeAndTell());
    this.turn = next.catch(() => undefined);
    return next;
  }

  private async judgeAndTell(): Promise<Round | undefined> {
    if (!(await this.connection.lead())) return undefined;
    const now = this.now();
    const db = this.connection;
    const waves = new Map<string, OpenWave>();
    for (const d of await openDeficiencies(db)) if (d.kind === "mass-drift") waves.set(String(d.detail["control"]), d.detail as unknown as OpenWave);
    const findings = [...(await judgeSilent(db, now, this.opts.settings)), ...(await judgeChains(db, this.opts.settings)), ...(await judgeMassDrift(db, now, this.opts.settings, waves))];
    const moves = await db.transaction((tx) => applyFindings(tx, findings, new Date(now)));
    for (const [what, ids] of Object.entries(moves) as [keyof Moves, string[]][]) if (ids.length) this.opts.log(`hub: fleet deficiencies ${what}: ${ids.join(", ")}`);
    if (!this.opts.notify) return { moves };
    const dispatch = await routeAndDeliver(new PgOutbox(db, this.now), {
      config: this.opts.notify,
      facts: new Map([["host.name", hostname()]]),
      now: this.now,
      budgetMs: this.opts.notify.delivery.budgetMs,
      makeChannel: this.opts.makeChannel ?? makeChannel,
      context: this.opts.context ?? (await monitorChannelContext(this.now)),
      host: "fleet",
    });
    return { moves, dispatch };
  }

  /** Stops the rounds, waits for one in flight, and ends the connection (releasing the lock). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running.catch(() => undefined);
    await this.turn;
    await this.connection.close();
  }
}
