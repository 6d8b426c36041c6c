import { describe, expect, it } from "vitest";
import { applyScheme, applyTheme, resolveHostOrigin } from "./embed";

function fakeWindow(ancestor: string | null, referrer = ""): Window {
  const parent = {};
  return {
    parent,
    location: { ancestorOrigins: ancestor ? { length: 1, 0: ancestor } : { length: 0 } },
    document: { referrer },
  } as unknown as Window;
}

describe("host origin", () => {
  it("is the framing origin when the org allows it", () => {
    expect(resolveHostOrigin(["https://app.example.com"], fakeWindow("https://app.example.com"))).toBe("https://app.example.com");
  });

  it("is refused for any other origin, even a lookalike", () => {
    expect(resolveHostOrigin(["https://app.example.com"], fakeWindow("https://app.example.com.evil.io"))).toBeNull();
    expect(resolveHostOrigin(["https://app.example.com"], fakeWindow(null, "http://app.example.com/page"))).toBeNull();
  });

  it("falls back to the referrer's origin without ancestorOrigins", () => {
    expect(resolveHostOrigin(["https://app.example.com/"], fakeWindow(null, "https://app.example.com/settings?x=1"))).toBe("https://app.example.com");
  });

  it("is null when not framed", () => {
    const win = fakeWindow("https://app.example.com");
    (win as unknown as { parent: unknown }).parent = win;
    expect(resolveHostOrigin(["https://app.example.com"], win)).toBeNull();
  });
});

describe("theme", () => {
  it("sets safe CSS variables and ignores injection attempts", () => {
    const set: Record<string, string> = {};
    const root = { style: { setProperty: (k: string, v: string) => (set[k] = v) } } as unknown as HTMLElement;
    applyTheme({ colors: { "--accent": "#0a7", bg: "white", "--x": "red; } body { display:none" }, radius: "6px", font: "Inter" }, root);
    expect(set).toEqual({ "--accent": "#0a7", "--bg": "white", "--radius": "6px", "--font": "Inter" });
  });
});

describe("colour scheme", () => {
  it("takes the host's dark or light, ignores other values, and auto follows the browser", () => {
    const root = { dataset: {} as Record<string, string>, style: { setProperty: () => undefined } } as unknown as HTMLElement;
    applyTheme({ scheme: "dark" }, root);
    expect(root.dataset.theme).toBe("dark");
    applyScheme("purple", root);
    applyScheme(null, root);
    expect(root.dataset.theme).toBe("dark");
    applyScheme("light", root);
    expect(root.dataset.theme).toBe("light");
    applyScheme("auto", root); // no prefers-color-scheme here: light
    expect(root.dataset.theme).toBe("light");
  });
});
