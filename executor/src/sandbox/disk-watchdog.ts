// The workspace cap of a cloud task: while its agent runs, its workspace and HOME are measured
// (every file, apparent size) every few seconds; past the cap the run is stopped and fails with
// a message saying so. RLIMIT_FSIZE (limits.ts) stops one huge file at once; this catches many.
import { measure } from "../workspace/walk";
import { mib } from "./limits";

export interface DiskWatchdog {
  stop(): void;
}

export function watchDisk(options: {
  dirs: string[];
  capBytes: number;
  /** Called once, with the bytes found, when the cap is passed. */
  onOver: (bytes: number) => void;
  minIntervalMs?: number;
}): DiskWatchdog {
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  const minInterval = options.minIntervalMs ?? 2000;
  const tick = async () => {
    const started = Date.now();
    let bytes = 0;
    for (const dir of options.dirs) {
      try {
        bytes += (await measure(dir)).bytes;
      } catch {
        // not there (yet, or any more)
      }
    }
    if (stopped) return;
    if (bytes > options.capBytes) {
      stopped = true;
      options.onOver(bytes);
      return;
    }
    // A big tree costs a walk: never spend more than a tenth of the time walking.
    timer = setTimeout(() => void tick(), Math.max(minInterval, (Date.now() - started) * 10));
    timer.unref();
  };
  timer = setTimeout(() => void tick(), minInterval);
  timer.unref();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
    },
  };
}

export const overCapMessage = (bytes: number, capBytes: number): string =>
  `The cloud sandbox stopped this task: its workspace and home use ${mib(bytes)}, over the limit of ${mib(capBytes)} per task. Remove files you do not need, or ask the pool's operator for a bigger limit (WEGENT_CLOUD_WORKSPACE_MB).`;
