// An app's icon: its `icon` URL, or (none, or it fails to load) a letter monogram.
import { useState } from "react";

const HUES = [210, 160, 260, 20, 330, 190, 45, 290, 120, 0];

function hueOf(slug: string): number {
  let h = 0;
  for (const c of slug) h = (h * 31 + c.charCodeAt(0)) >>> 0;
  return HUES[h % HUES.length];
}

export function AppIcon({ slug, name, icon, size = 28 }: { slug: string; name: string; icon?: string | null; size?: number }) {
  const [failed, setFailed] = useState(false);
  if (icon && !failed) {
    return <img className="app-icon" src={icon} alt="" width={size} height={size} onError={() => setFailed(true)} />;
  }
  const letter = (name || slug).trim().charAt(0).toUpperCase() || "?";
  const hue = hueOf(slug);
  return (
    <span className="app-icon monogram" aria-hidden="true" style={{ width: size, height: size, fontSize: Math.round(size * 0.5), background: `hsl(${hue} 70% 92%)`, color: `hsl(${hue} 55% 32%)` }}>
      {letter}
    </span>
  );
}
