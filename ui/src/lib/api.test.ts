import { afterEach, describe, expect, it, vi } from "vitest";
import { Api, ApiError } from "./api";

/** The browser's fetch, answering 401 for `refused` tokens; `holdNext` keeps the next answer
 * back until `release`. */
function serve(refused: Set<string>) {
  let hold = false;
  let release: (() => void) | null = null;
  const fetch = vi.fn(async (_url: string, init: RequestInit) => {
    const token = String((init.headers as Record<string, string>).Authorization).slice(7);
    await new Promise<void>((resolve) => (hold ? (release = resolve) : resolve()));
    const status = refused.has(token) ? 401 : 200;
    return new Response(JSON.stringify(status === 401 ? { error_code: "INVALID_CREDENTIALS", message: "Invalid Credentials" } : {}), { status });
  });
  vi.stubGlobal("fetch", fetch);
  return { holdNext: () => (hold = true), release: () => ((hold = false), release?.()) };
}

describe("the token", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("a refusal is reported once per token; a new token re-arms it", async () => {
    serve(new Set(["old", "bad"]));
    const api = new Api("http://weft", "wf", "old");
    const lost = vi.fn();
    api.onAuthLost(lost);
    const notices: boolean[] = [];
    api.onAuthLost(() => notices.push(api.claimExpiryNotice()));
    await expect(api.openDraft()).rejects.toBeInstanceOf(ApiError);
    await expect(api.openDraft()).rejects.toBeInstanceOf(ApiError);
    expect(notices).toEqual([true, false]);
    const changed = vi.fn();
    api.onTokenChange(changed);
    api.setToken("bad");
    expect(changed).toHaveBeenCalledOnce();
    await expect(api.openDraft()).rejects.toBeInstanceOf(ApiError);
    expect(notices).toEqual([true, false, true]);
    expect(lost).toHaveBeenCalledTimes(3);
  });

  it("a refusal of a token replaced meanwhile is stale, not a lost session", async () => {
    const server = serve(new Set(["old"]));
    const api = new Api("http://weft", "wf", "old");
    const lost = vi.fn();
    api.onAuthLost(lost);
    server.holdNext();
    const pending = api.openDraft();
    await Promise.resolve();
    api.setToken("fresh");
    server.release();
    const error = await pending.catch((e: ApiError) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).staleToken).toBe(true);
    expect(lost).not.toHaveBeenCalled();
    await expect(api.openDraft()).resolves.toEqual({});
  });

  it("no answer at all is a network error, status 0", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("Failed to fetch"))));
    const api = new Api("http://weft", "wf", "t");
    const error = await api.openDraft().catch((e: ApiError) => e);
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).status).toBe(0);
  });
});
