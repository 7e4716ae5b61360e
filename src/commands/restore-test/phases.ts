/**
 * Where a restore-test's time goes, phase by phase: wall seconds and this process's CPU seconds
 * (user + system), so that the benchmark can tell waiting on the server from work done here.
 */
export interface PhaseTiming {
  phase: string;
  wallSeconds: number;
  cpuSeconds: number;
}

export class PhaseClock {
  readonly phases: PhaseTiming[] = [];
  private wall = performance.now();
  private cpu = process.cpuUsage();

  /** Ends the phase running since the previous mark (or the clock's start) under `phase`. */
  mark(phase: string): void {
    const wall = performance.now();
    const cpu = process.cpuUsage(this.cpu);
    this.phases.push({
      phase,
      wallSeconds: round((wall - this.wall) / 1000),
      cpuSeconds: round((cpu.user + cpu.system) / 1e6),
    });
    this.wall = wall;
    this.cpu = process.cpuUsage();
  }
}

function round(seconds: number): number {
  return Math.round(seconds * 100) / 100;
}
