// Copying text from inside a host's iframe, where the clipboard API may be blocked.

/** Put `text` on the clipboard; true when it worked. `field` is selected and copied the old way
 * when the API is blocked (a host frame without allow="clipboard-write"), so Ctrl+C also works. */
export async function copyText(text: string, field?: HTMLInputElement | HTMLTextAreaElement | null): Promise<boolean> {
  const policy = (document as unknown as { featurePolicy?: { allowsFeature(f: string): boolean } }).featurePolicy;
  if (navigator.clipboard && (policy?.allowsFeature("clipboard-write") ?? true)) {
    const done = await navigator.clipboard.writeText(text).then(
      () => true,
      () => false,
    );
    if (done) return true;
  }
  if (!field) return false;
  field.select();
  return document.execCommand?.("copy") ?? false;
}
