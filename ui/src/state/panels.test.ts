import { describe, expect, it } from "vitest";
import { initialPanels } from "./panels";

describe("folding panels", () => {
  it("starts with the palette folded where the canvas needs the room", () => {
    expect(initialPanels(1280, null)).toEqual({ palette: true, side: true });
    expect(initialPanels(800, null)).toEqual({ palette: false, side: true });
    // One column (phones): everything stacks, nothing is squeezed.
    expect(initialPanels(360, null)).toEqual({ palette: true, side: true });
  });

  it("keeps what the person chose this session, whatever the width", () => {
    expect(initialPanels(1280, '{"palette": false, "side": false}')).toEqual({ palette: false, side: false });
    expect(initialPanels(800, "not json")).toEqual({ palette: false, side: true });
  });
});
