// Autosave of the draft, outside React so its promise can be tested alone: an edit is pending
// until the server has it. One save in flight at a time; a failed save keeps the edit pending and
// is retried — at once after a new token (`resume`), with backoff after a network or server
// failure — and never over a conflict the user must settle.
import { errorSentence } from "../lib/errors";
import { ApiError } from "../lib/api";
import type { DraftExtras } from "../lib/api";
import type { Draft, Graph, WeftEdge, WeftNode } from "../lib/types";

/** `offline`: the server was not reached; `auth`: the token was refused (waits for a new one). */
export type SaveState = "saved" | "unsaved" | "saving" | "offline" | "error" | "auth" | "conflict";

export interface DraftServer {
  saveDraft(nodes: WeftNode[], edges: WeftEdge[], revision?: number, extras?: DraftExtras): Promise<Draft>;
}

export interface SyncEvents {
  state(state: SaveState, error: string | null): void;
  saved(answer: Draft): void;
}

export const AUTOSAVE_MS = 700;
/** Waits before retrying after the n-th failure in a row (the last one repeats). */
export const RETRY_MS = [1000, 2000, 4000];

export class DraftSync {
  state: SaveState = "saved";
  error: string | null = null;
  revision: number | undefined;
  private saved: Graph | null = null;
  private present: Graph | null = null;
  private inFlight: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private failures = 0;

  constructor(
    private readonly server: DraftServer,
    private readonly events: SyncEvents,
  ) {}

  /** True while the server does not have the editor's graph. */
  get dirty(): boolean {
    return this.present !== null && this.present !== this.saved;
  }

  /** The server's copy (opened, published, restored, reloaded): nothing is pending. */
  adopt(graph: Graph, revision: number | undefined): void {
    this.clearTimer();
    this.saved = graph;
    this.present = graph;
    this.revision = revision;
    this.failures = 0;
    this.set("saved", null);
  }

  /** The editor's graph is now `graph`: save it after the debounce. */
  edited(graph: Graph): void {
    if (this.saved === null) return; // nothing opened yet
    this.present = graph;
    if (!this.dirty) {
      // Undone back to what the server has: nothing waits (a save in flight settles it itself).
      if (!this.inFlight && this.state !== "conflict") {
        this.clearTimer();
        this.set("saved", null);
      }
      return;
    }
    if (this.state === "saved") this.set("unsaved", null);
    if (this.state === "conflict" || this.state === "auth") return;
    this.schedule(AUTOSAVE_MS);
  }

  /** Save now and wait (publish, test runs and restore need the server to have the edit). */
  async flush(): Promise<void> {
    this.clearTimer();
    if (this.inFlight) await this.inFlight;
    if (this.dirty && this.state !== "conflict") await this.run();
  }

  /** A new token arrived or the network is back: retry what waits, now. */
  resume(): void {
    if (!this.dirty || this.state === "conflict" || this.inFlight) return;
    this.clearTimer();
    void this.run();
  }

  /** Conflict settled by keeping ours: save over the revision the server has now. */
  overwrite(revision: number | undefined): Promise<void> {
    this.revision = revision;
    this.set("unsaved", null);
    return this.flush();
  }

  dispose(): void {
    this.clearTimer();
  }

  private async run(): Promise<void> {
    const graph = this.present;
    if (!graph) return;
    this.set("saving", null);
    const attempt = (async () => {
      try {
        // Notes and pins ride along: one save, one revision, no edit of either is lost.
        const answer = await this.server.saveDraft(graph.nodes, graph.edges, this.revision, { notes: graph.notes ?? [], pinned: graph.pins ?? {} });
        this.saved = graph;
        this.revision = answer.revision;
        this.failures = 0;
        this.events.saved(answer);
        this.set(this.dirty ? "unsaved" : "saved", null);
        if (this.dirty) this.schedule(AUTOSAVE_MS); // edits made while it was saving
      } catch (error) {
        this.failed(error);
      }
    })();
    this.inFlight = attempt;
    try {
      await attempt;
    } finally {
      if (this.inFlight === attempt) this.inFlight = null;
    }
  }

  private failed(error: unknown): void {
    // Shown to the customer (the save state's tooltip): a sentence, no raw answer.
    const message = errorSentence(error);
    const status = error instanceof ApiError ? error.status : 0;
    if (status === 409) return this.set("conflict", message);
    if (status === 401) {
      // Refused with a token that was replaced meanwhile: the new one may do.
      if (error instanceof ApiError && error.staleToken) return this.schedule(0);
      return this.set("auth", message);
    }
    const transient = status === 0 || status === 429 || status >= 500;
    this.failures += 1;
    this.set(status === 0 ? "offline" : "error", message);
    // Another 4xx will not pass by itself; the next edit tries again.
    if (transient) this.schedule(RETRY_MS[Math.min(this.failures, RETRY_MS.length) - 1]);
  }

  private schedule(ms: number): void {
    this.clearTimer();
    this.timer = setTimeout(() => {
      this.timer = null;
      // A save in flight reschedules itself when it ends.
      if (!this.inFlight && this.dirty && this.state !== "conflict" && this.state !== "auth") void this.run();
    }, ms);
  }

  private clearTimer(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  private set(state: SaveState, error: string | null): void {
    if (state === this.state && error === this.error) return;
    this.state = state;
    this.error = error;
    this.events.state(state, error);
  }
}
