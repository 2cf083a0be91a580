/**
 * The training progress bar: a thin wrapper over `npm:cli-progress` showing
 * step, epoch, the four pix2pix losses, steps per second and the ETA. On a
 * terminal it redraws in place; otherwise (CI logs, pipes) it prints one line
 * every `logEveryMs`.
 *
 * @module
 */

import cliProgress from "cli-progress";

/** Losses shown on the bar, named as in the reference's logs. */
export interface ProgressLosses {
  G_GAN: number;
  G_L1: number;
  D_real: number;
  D_fake: number;
}

/** A running progress bar. */
export interface Progress {
  /** Shows that `step` steps are done, in 0-based `epoch`, with the latest losses. */
  update(step: number, epoch: number, losses: ProgressLosses): void;
  /** Prints a line (e.g. an epoch's validation score) above the bar. */
  note(message: string): void;
  /** Finishes the bar (leaves the last state on screen). */
  stop(): void;
}

/** Options of {@link createProgress}. */
export interface ProgressOptions {
  /** Total steps of the run. */
  total: number;
  /** Steps already done (a resumed run). */
  start: number;
  /** Total epochs, for the `epoch e/E` field. */
  epochs: number;
  /** Off a terminal, print a line this often (default 10 s). */
  logEveryMs?: number;
}

/** Starts a progress bar at `start` of `total` steps. */
export function createProgress(o: ProgressOptions): Progress {
  const bar = new cliProgress.SingleBar({
    format: "epoch {epoch}/{epochs} |{bar}| {value}/{total} | G_GAN {G_GAN} " +
      "G_L1 {G_L1} D_real {D_real} D_fake {D_fake} | {rate} steps/s | ETA {eta_formatted}",
    barsize: 20,
    etaBuffer: 50,
    noTTYOutput: true,
    notTTYSchedule: o.logEveryMs ?? 10_000,
    hideCursor: true,
  });
  const t0 = performance.now();
  const fmt = (v: number) => v.toFixed(3);
  bar.start(o.total, o.start, {
    epoch: 1,
    epochs: o.epochs,
    G_GAN: "-",
    G_L1: "-",
    D_real: "-",
    D_fake: "-",
    rate: "-",
  });
  return {
    update(step, epoch, l) {
      const seconds = (performance.now() - t0) / 1000;
      bar.update(step, {
        epoch: epoch + 1,
        G_GAN: fmt(l.G_GAN),
        G_L1: fmt(l.G_L1),
        D_real: fmt(l.D_real),
        D_fake: fmt(l.D_fake),
        rate: ((step - o.start) / seconds).toFixed(2),
      });
    },
    note(message) {
      if (Deno.stdout.isTerminal()) {
        Deno.stdout.writeSync(new TextEncoder().encode("\r\x1b[2K"));
      }
      console.log(message);
      bar.render();
    },
    stop() {
      bar.stop();
    },
  };
}
