// google/shlex.Split, used by docker for --entrypoint, --args and --health-cmd style values:
// POSIX-shell-like words with '…' (literal), "…" (backslash escapes " \ $ ` and newline) and
// backslash escapes outside quotes; `#` at the start of a word begins a comment.

export function shlexSplit(input: string): string[] {
  const words: string[] = [];
  let word: string | undefined;
  let i = 0;
  const isSpace = (c: string): boolean => c === ' ' || c === '\t' || c === '\n' || c === '\r';
  while (i < input.length) {
    const c = input[i];
    if (isSpace(c)) {
      if (word !== undefined) words.push(word);
      word = undefined;
      i++;
    } else if (c === '#' && word === undefined) {
      while (i < input.length && input[i] !== '\n') i++;
    } else if (c === "'") {
      const end = input.indexOf("'", i + 1);
      if (end === -1) throw new Error('EOF found when expecting closing quote');
      word = (word ?? '') + input.slice(i + 1, end);
      i = end + 1;
    } else if (c === '"') {
      word = word ?? '';
      i++;
      for (;;) {
        if (i >= input.length) throw new Error('EOF found when expecting closing quote');
        const d = input[i];
        if (d === '"') {
          i++;
          break;
        }
        if (d === '\\' && i + 1 < input.length && '"\\$`\n'.includes(input[i + 1])) {
          word += input[i + 1];
          i += 2;
          continue;
        }
        word += d;
        i++;
      }
    } else if (c === '\\') {
      if (i + 1 >= input.length) throw new Error('EOF found after escape character');
      word = (word ?? '') + input[i + 1];
      i += 2;
    } else {
      word = (word ?? '') + c;
      i++;
    }
  }
  if (word !== undefined) words.push(word);
  return words;
}
