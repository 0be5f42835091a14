/** A one-line progress bar / live count on stderr, drawn only when stderr is a terminal. */
export interface Output {
  write(text: string): void;
  isTTY: boolean;
}

export class Progress {
  private drawn = false;

  constructor(
    private readonly out: Output,
    private readonly label: string,
    private readonly width = 30,
  ) {}

  /** `done` of `total` (a bar), or a live count when the total is unknown. */
  update(done: number, total?: number, note = ''): void {
    if (!this.out.isTTY) return;
    let line: string;
    if (total && total > 0) {
      const filled = Math.round((Math.min(done, total) / total) * this.width);
      const percent = Math.floor((Math.min(done, total) / total) * 100);
      line = `${this.label} [${'█'.repeat(filled)}${'░'.repeat(this.width - filled)}] ${done}/${total} ${percent}%`;
    } else line = `${this.label} ${done}`;
    this.out.write(`\r\x1b[2K${line}${note ? `  ${note}` : ''}`);
    this.drawn = true;
  }

  /** A line of its own, above the bar. */
  log(text: string): void {
    if (this.out.isTTY && this.drawn) this.out.write('\r\x1b[2K');
    this.out.write(`${text}\n`);
    this.drawn = false;
  }

  done(): void {
    if (this.drawn) this.out.write('\n');
    this.drawn = false;
  }
}
