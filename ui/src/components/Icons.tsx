// Inline icons (nothing loads from outside the server). 16px strokes, currentColor.
const PATHS: Record<string, string> = {
  start: "M13 2 4 14h7l-1 8 9-12h-7l1-8z",
  http: "M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18zm-9 9h18M12 3c2.5 2.7 3.8 5.7 3.8 9s-1.3 6.3-3.8 9c-2.5-2.7-3.8-5.7-3.8-9s1.3-6.3 3.8-9z",
  app_action: "M4 6h16v12H4zM4 10h16M8 14h4",
  transform: "M4 7h11l-3-3M20 17H9l3 3",
  condition: "M6 3v6a3 3 0 0 0 3 3h6a3 3 0 0 1 3 3v6M6 21v-6M18 3v3",
  loop: "M17 2l3 3-3 3M20 5H8a5 5 0 0 0 0 10h1M7 22l-3-3 3-3M4 19h12a5 5 0 0 0 0-10h-1",
  delay: "M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z",
  code: "M8 7l-5 5 5 5M16 7l5 5-5 5M14 4l-4 16",
  respond: "M9 14 4 9l5-5M4 9h11a5 5 0 0 1 0 10h-3",
  workflow: "M3 5h7v5H3zM14 14h7v5h-7zM6.5 10v6.5H14",
  ai: "M12 3l1.8 4.7L18.5 9.5l-4.7 1.8L12 16l-1.8-4.7L5.5 9.5l4.7-1.8zM19 15l.8 2.2L22 18l-2.2.8L19 21l-.8-2.2L16 18l2.2-.8z",
  end: "M6 6h12v12H6z",
  mcp: "M9 3v5M15 3v5M6 8h12v4a6 6 0 0 1-12 0zM12 18v3",
  plus: "M12 5v14M5 12h14",
  undo: "M9 14 4 9l5-5M4 9h10a6 6 0 0 1 0 12h-3",
  redo: "M15 14l5-5-5-5M20 9H10a6 6 0 0 0 0 12h3",
  layout: "M4 4h6v6H4zM14 14h6v6h-6zM7 10v7h7",
  fit: "M4 9V4h5M20 9V4h-5M4 15v5h5M20 15v5h-5",
  map: "M3 6l6-2 6 2 6-2v14l-6 2-6-2-6 2zM9 4v14M15 6v14",
  play: "M7 4l13 8-13 8z",
  check: "M5 12l5 5L20 7",
  x: "M6 6l12 12M18 6 6 18",
  alert: "M12 8v5M12 16.5v.5M10.3 3.9 2.4 18a2 2 0 0 0 1.7 3h15.8a2 2 0 0 0 1.7-3L13.7 3.9a2 2 0 0 0-3.4 0z",
  pin: "M9 4h6l-1 6 3 3H7l3-3zM12 13v7",
  note: "M5 4h14v11l-5 5H5zM14 20v-5h5",
  shield: "M12 3l8 3v6c0 5-3.5 8-8 9-4.5-1-8-4-8-9V6z",
  search: "M11 4a7 7 0 1 0 0 14 7 7 0 0 0 0-14zM20 20l-4-4",
  copy: "M9 9h11v11H9zM5 15H4V4h11v1",
  clock: "M12 7v5l3 2M12 3a9 9 0 1 0 0 18 9 9 0 0 0 0-18z",
  refresh: "M20 11a8 8 0 0 0-14.9-3M4 4v4h4M4 13a8 8 0 0 0 14.9 3M20 20v-4h-4",
  more: "M4 12a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0M10.5 12a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0M17 12a1.5 1.5 0 1 0 3 0 1.5 1.5 0 1 0-3 0",
  "panel-left": "M4 4h16v16H4zM9 4v16",
  "panel-right": "M4 4h16v16H4zM15 4v16",
  keyboard: "M3 6h18v12H3zM7 10h.01M11 10h.01M15 10h.01M7 14h10",
};

export function Icon({ name, size = 16, label }: { name: string; size?: number; label?: string }) {
  const d = PATHS[name] ?? PATHS.code;
  return (
    <svg
      width={size}
      height={size}
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      strokeWidth={1.8}
      strokeLinecap="round"
      strokeLinejoin="round"
      aria-hidden={label ? undefined : true}
      role={label ? "img" : undefined}
      aria-label={label}
      focusable="false"
    >
      <path d={d} />
    </svg>
  );
}
