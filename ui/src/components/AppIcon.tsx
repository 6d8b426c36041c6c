// An app's icon: its `icon` URL, or (none, or it fails to load) a letter monogram.
import { useState, type CSSProperties } from "react";

const HUES = [210, 160, 260, 20, 330, 190, 45, 290, 120, 0];

function hueOf(slug: string): number {
  let h = 0;
  for (const c of slug) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return HUES[h % HUES.length];
}

/** Where the editor may load `icon` from: its own server only (the page's CSP allows no other
 * image origin). Weft's shipped icons (`…/app-icons/x.svg`) come from the server that serves
 * the editor, whatever base URL it was configured with; other origins get the monogram. */
export function iconSource(icon: string | null | undefined): string | null {
  if (!icon) return null;
  if (icon.startsWith("data:")) return icon;
  try {
    const url = new URL(icon, window.location.href);
    if (url.pathname.startsWith("/app-icons/")) return url.pathname;
    return url.origin === window.location.origin ? url.href : null;
  } catch {
    return null;
  }
}

export function AppIcon({ slug, name, icon, size = 28 }: { slug: string; name: string; icon?: string | null; size?: number }) {
  const [failed, setFailed] = useState(false);
  const source = iconSource(icon);
  if (source && !failed) {
    return <img className="app-icon" src={source} alt="" width={size} height={size} onError={() => setFailed(true)} />;
  }
  const letter = (name || slug).trim().charAt(0).toUpperCase() || "?";
  const hue = hueOf(slug);
  return (
    <span className="app-icon monogram" aria-hidden="true" style={{ width: size, height: size, fontSize: Math.round(size * 0.5), "--hue": hue } as CSSProperties}>
      {letter}
    </span>
  );
}
