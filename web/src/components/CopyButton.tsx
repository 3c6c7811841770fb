import { useState } from "react";

export function CopyButton({ text, label = "Copy" }: { text: string; label?: string }) {
  const [copied, setCopied] = useState(false);
  async function copy() {
    try {
      await navigator.clipboard.writeText(text);
      setCopied(true);
      setTimeout(() => setCopied(false), 1500);
    } catch {
      setCopied(false); // no clipboard permission: the text stays selectable on screen
    }
  }
  return (
    <button type="button" className="secondary small" onClick={copy} aria-live="polite">
      {copied ? "Copied" : label}
    </button>
  );
}
