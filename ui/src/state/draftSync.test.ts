import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { ApiError, type DraftExtras } from "../lib/api";
import type { Draft, Graph, WeftEdge, WeftNode } from "../lib/types";
import { AUTOSAVE_MS, DraftSync, type SaveState } from "./draftSync";

/** A server holding one draft, whose next answers a test can script (a refusal, a cut). */
class ScriptedServer {
  stored: Graph | null = null;
  revision = 1;
  calls = 0;
  failures: unknown[] = [];
  extras: DraftExtras | undefined;

  async saveDraft(nodes: WeftNode[], edges: WeftEdge[], _revision?: number, extras?: DraftExtras): Promise<Draft> {
    this.calls += 1;
    const failure = this.failures.shift();
    if (failure) throw failure;
    this.stored = { nodes, edges };
    this.extras = extras;
    this.revision += 1;
    return { nodes, edges, revision: this.revision } as Draft;
  }
}

const g = (name: string): Graph => ({ nodes: [{ id: "1", type: "start", name, position: { x: 0, y: 0 }, data: {} }], edges: [] });

function setUp() {
  const server = new ScriptedServer();
  const states: SaveState[] = [];
  const sync = new DraftSync(server, { state: (s) => states.push(s), saved: () => undefined });
  sync.adopt(g("v0"), 1);
  return { server, states, sync };
}

describe("autosave keeps every edit until the server has it", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("debounces edits into one save", async () => {
    const { server, sync } = setUp();
    sync.edited(g("a"));
    sync.edited(g("ab"));
    expect(sync.state).toBe("unsaved");
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(server.calls).toBe(1);
    expect(server.stored?.nodes[0].name).toBe("ab");
    expect(sync.state).toBe("saved");
  });

  it("a refused token keeps the edit pending, without retrying, until resume()", async () => {
    const { server, sync } = setUp();
    server.failures.push(new ApiError(401, "INVALID_CREDENTIALS", "Invalid Credentials"));
    const edit = g("edited");
    sync.edited(edit);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(sync.state).toBe("auth");
    expect(sync.dirty).toBe(true);
    await vi.advanceTimersByTimeAsync(30_000);
    expect(server.calls).toBe(1);
    sync.resume();
    await vi.advanceTimersByTimeAsync(0);
    expect(server.stored?.nodes[0].name).toBe("edited");
    expect(sync.state).toBe("saved");
  });

  it("a network cut retries with backoff until it passes", async () => {
    const { server, sync, states } = setUp();
    for (let i = 0; i < 4; i += 1) server.failures.push(new ApiError(0, "NETWORK", "cut"));
    sync.edited(g("offline edit"));
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(sync.state).toBe("offline");
    sync.edited(g("second offline edit"));
    await vi.advanceTimersByTimeAsync(20_000);
    expect(server.stored?.nodes[0].name).toBe("second offline edit");
    expect(sync.state).toBe("saved");
    expect(states).not.toContain("conflict");
  });

  it("an offline edit undone back to the server's copy leaves nothing pending", async () => {
    const { server, sync } = setUp();
    const original = g("v1");
    sync.adopt(original, 1);
    server.failures.push(new ApiError(0, "NETWORK", "cut"));
    sync.edited(g("gone"));
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(sync.state).toBe("offline");
    sync.edited(original);
    expect(sync.state).toBe("saved");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(server.calls).toBe(1);
  });

  it("a server error retries; a conflict waits for the user", async () => {
    const { server, sync } = setUp();
    server.failures.push(new ApiError(503, "UNAVAILABLE", "busy"), new ApiError(409, "CONFLICT", "changed"));
    sync.edited(g("x"));
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS + 10);
    expect(sync.state).toBe("error");
    await vi.advanceTimersByTimeAsync(1_100);
    expect(sync.state).toBe("conflict");
    await vi.advanceTimersByTimeAsync(30_000);
    expect(server.calls).toBe(2);
    await sync.overwrite(7);
    expect(sync.state).toBe("saved");
    expect(server.stored?.nodes[0].name).toBe("x");
  });

  it("an edit made while saving is saved after it; undoing to the saved graph is clean", async () => {
    const { server, sync } = setUp();
    const saved = g("a");
    sync.edited(saved);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS);
    const second = g("b");
    sync.edited(second); // the first save is in flight or just done
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS * 3);
    expect(server.stored?.nodes[0].name).toBe("b");
    const calls = server.calls;
    sync.edited(g("c"));
    sync.edited(second); // undone before the debounce ended
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS * 3);
    expect(server.calls).toBe(calls);
    expect(sync.state).toBe("saved");
  });

  it("flush saves now, and a refused flush leaves the edit dirty", async () => {
    const { server, sync } = setUp();
    server.failures.push(new ApiError(401, "INVALID_CREDENTIALS", "no"));
    sync.edited(g("now"));
    await sync.flush();
    expect(sync.dirty).toBe(true);
    await sync.flush();
    expect(sync.dirty).toBe(false);
    expect(server.stored?.nodes[0].name).toBe("now");
  });
});

describe("notes and pins are part of the draft", () => {
  beforeEach(() => vi.useFakeTimers());
  afterEach(() => vi.useRealTimers());

  it("saves a note or a pin edit like any other edit", async () => {
    const { server, sync } = setUp();
    const noted: Graph = { ...g("v0"), notes: [{ id: "note-1", text: "hi", position: { x: 0, y: 0 } }], pins: { "1": { id: 7 } } };
    sync.edited(noted);
    expect(sync.dirty).toBe(true);
    await vi.advanceTimersByTimeAsync(AUTOSAVE_MS);
    expect(server.extras).toEqual({ notes: noted.notes, pinned: { "1": { id: 7 } } });
    expect(sync.dirty).toBe(false);
  });
});
