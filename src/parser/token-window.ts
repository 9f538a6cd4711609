// The parser's tokens, read from a source as it needs them and let go of once it is past them.
//
// Handed over as one array per declaration, a declaration (a list of a million names, a control
// of 300,000 promises) held all its tokens at once, 72 bytes each: most of the peak memory of
// checking it. Chevrotain reads tokens only through the methods overridden below (its
// LexerAdapter, "meant to be overridden for lazy lexers"), by absolute index; error recovery
// may skip ahead and come back (SKIP_TOKEN, then importLexerState), so from its first skip in a
// declaration every token of it is kept, as before.
import { createTokenInstance, EmbeddedActionsParser, EOF, type IToken } from "chevrotain";

/** One declaration's tokens, pulled as the parser needs them; undefined once they are all read. */
export interface TokenSource {
  next(): IToken | undefined;
}

/** What the parser reads past the end of its tokens (Chevrotain's own end-of-input token is not exported). */
const END: IToken = createTokenInstance(EOF, "", NaN, NaN, NaN, NaN, NaN, NaN);

/**
 * Tokens the parser keeps behind the one it is at once it lets go of those before: its own
 * look-back is one token (the previous one, for messages), and WINDOW_SLACK is how many it
 * reads past before it drops any, so that dropping is rare and cheap.
 */
const KEPT_BEHIND = 16;
const WINDOW_SLACK = 4096;

export abstract class WindowedParser extends EmbeddedActionsParser {
  private source: TokenSource | undefined;
  private window: IToken[] = [];
  /** absolute index of window[0] */
  private base = 0;
  private sourceEnded = true;
  private keepAll = false;
  /** Chevrotain's index of the last consumed token (its LexerAdapter field) */
  private declare currIdx: number;

  /** Makes the window reach absolute index `idx`; false when the tokens end before it. */
  private fill(idx: number): boolean {
    while (this.base + this.window.length <= idx) {
      if (this.sourceEnded) return false;
      const t = this.source?.next();
      if (t === undefined) {
        this.sourceEnded = true;
        return false;
      }
      this.window.push(t);
    }
    return true;
  }
  override LA(howMuch: number): IToken {
    const idx = this.currIdx + howMuch;
    if (idx < this.base) return END; // before the first token (tokens behind are never read)
    const at = idx - this.base;
    if (at < this.window.length) return this.window[at]!;
    return this.fill(idx) ? this.window[at]! : END;
  }
  override LA_FAST(howMuch: number): IToken {
    return this.LA(howMuch);
  }
  consumeToken(): void {
    this.currIdx++;
    const behind = this.currIdx - this.base;
    if (behind > WINDOW_SLACK && !this.keepAll) {
      this.window = this.window.slice(behind - KEPT_BEHIND);
      this.base += behind - KEPT_BEHIND;
    }
  }
  override SKIP_TOKEN(): IToken {
    this.keepAll = true;
    if (this.LA(1) === END) return END;
    this.consumeToken();
    return this.LA(1);
  }
  exportLexerState(): number {
    return this.currIdx;
  }
  importLexerState(state: number): void {
    this.currIdx = state;
  }
  resetLexerState(): void {
    this.currIdx = this.base - 1;
  }
  moveToTerminatedState(): void {
    this.keepAll = true;
    while (this.fill(this.base + this.window.length));
    this.currIdx = this.base + this.window.length - 1;
  }

  /** Reads the next tokens from `source` (resets the parser, its errors included). */
  protected readFrom(source: TokenSource): void {
    this.input = [];
    this.source = source;
    this.window = [];
    this.base = 0;
    this.currIdx = -1;
    this.sourceEnded = false;
    this.keepAll = false;
  }
  /** Lets go of the source and the tokens read (the errors stay, to be read). */
  protected letGoOfTokens(): void {
    this.source = undefined;
    this.window = [];
    this.sourceEnded = true;
  }
}
