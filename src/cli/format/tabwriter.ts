// A port of the elastic-tabstop algorithm of Go's text/tabwriter (docker's fork, which measures
// runes): tab-terminated cells are aligned per column block; a line without tabs ends a block.
// docker prints tables with minwidth 10, tabwidth 1, padding 3, padchar ' '.

export interface TabwriterOptions {
  minwidth: number;
  padding: number;
  padchar?: string;
}

interface Cell {
  text: string;
  width: number;
  htab: boolean;
}

/** Display width in columns: East Asian wide and fullwidth characters take two. */
export function displayWidth(s: string): number {
  let w = 0;
  for (const ch of s) {
    const cp = ch.codePointAt(0)!;
    const wide =
      (cp >= 0x1100 && cp <= 0x115f) ||
      (cp >= 0x2e80 && cp <= 0xa4cf && cp !== 0x303f) ||
      (cp >= 0xac00 && cp <= 0xd7a3) ||
      (cp >= 0xf900 && cp <= 0xfaff) ||
      (cp >= 0xfe30 && cp <= 0xfe4f) ||
      (cp >= 0xff00 && cp <= 0xff60) ||
      (cp >= 0xffe0 && cp <= 0xffe6) ||
      (cp >= 0x1f300 && cp <= 0x1faff) ||
      (cp >= 0x20000 && cp <= 0x3fffd);
    w += wide ? 2 : 1;
  }
  return w;
}

export function tabwrite(input: string, opts: TabwriterOptions): string {
  const padchar = opts.padchar ?? ' ';
  let out = '';
  let lines: Cell[][] = [[]];
  let cellText = '';
  let widths: number[] = [];

  const terminateCell = (htab: boolean): number => {
    const line = lines[lines.length - 1];
    line.push({ text: cellText, width: displayWidth(cellText), htab });
    cellText = '';
    return line.length;
  };

  const writeLines = (line0: number, line1: number): void => {
    for (let i = line0; i < line1; i++) {
      const line = lines[i];
      line.forEach((c, j) => {
        out += c.text;
        if (j < widths.length) out += padchar.repeat(Math.max(0, widths[j] - c.width));
      });
      if (i + 1 === lines.length) out += cellText;
      else out += '\n';
    }
  };

  const format = (line0: number, line1: number): void => {
    const column = widths.length;
    for (let cur = line0; cur < line1; cur++) {
      if (column >= lines[cur].length - 1) continue;
      writeLines(line0, cur);
      line0 = cur;
      let width = opts.minwidth;
      for (; cur < line1; cur++) {
        const line = lines[cur];
        if (column >= line.length - 1) break;
        const w = line[column].width + opts.padding;
        if (w > width) width = w;
      }
      widths.push(width);
      format(line0, cur);
      widths.pop();
      line0 = cur;
    }
    writeLines(line0, line1);
  };

  const flush = (): void => {
    if (cellText.length > 0) terminateCell(false);
    format(0, lines.length);
    lines = [[]];
    cellText = '';
    widths = [];
  };

  for (const ch of input) {
    if (ch === '\t' || ch === '\v' || ch === '\n' || ch === '\f') {
      const ncells = terminateCell(ch === '\t');
      if (ch === '\n' || ch === '\f') {
        lines.push([]);
        // A one-cell line does not affect the columns after it: flush, as Go does.
        if (ch === '\f' || ncells === 1) flush();
      }
    } else {
      cellText += ch;
    }
  }
  flush();
  return out;
}
