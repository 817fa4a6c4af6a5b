import { download } from "./api";

export type Cite = { documentId: string; title: string; snippet: string; score?: number | null };

/** The answer text with each [n] turned into a link to the n-th citation below it. */
export function Linked({ text, prefix, count }: { text: string; prefix: string; count: number }) {
  const parts = text.split(/(\[\d+\])/g);
  return (
    <p class="answer">
      {parts.map((part) => {
        const n = /^\[(\d+)\]$/.exec(part)?.[1];
        return n && +n >= 1 && +n <= count
          ? <a href={`#${prefix}-${n}`} class="cite" aria-label={`citation ${n}`}
              onClick={(e) => { e.preventDefault(); document.getElementById(`${prefix}-${n}`)?.focus(); }}>[{n}]</a>
          : part;
      })}
    </p>
  );
}

export function Citations({ items, prefix }: { items: Cite[]; prefix: string }) {
  if (!items.length) return null;
  return (
    <ol class="citations" aria-label="Citations">
      {items.map((c, i) => (
        <li id={`${prefix}-${i + 1}`} tabIndex={-1} data-citation={i + 1}>
          <strong>[{i + 1}] {c.title}</strong>
          <blockquote>{c.snippet}</blockquote>
          <a href={`/rag/documents/${c.documentId}/download`}
            onClick={(e) => { e.preventDefault(); void download(`/rag/documents/${c.documentId}/download`, c.title).catch(() => undefined); }}>
            Open the document
          </a>
        </li>
      ))}
    </ol>
  );
}
