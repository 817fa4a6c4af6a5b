import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import type { AskQuery } from "../gql/graphql";
import { Citations, Linked } from "../cite";
import { ErrorText, useAction } from "../ui";

const AskQuestion = graphql(`
  query Ask($question: String!, $collections: [String!]) {
    ask(question: $question, collections: $collections) { answer mode found citations { documentId title chunkId snippet score } }
  }
`);

const Names = graphql(`query CollectionNames { collections { name } }`);

export function Ask() {
  const [names, setNames] = useState<string[]>([]);
  const [scope, setScope] = useState("");
  const [question, setQuestion] = useState("");
  const [answer, setAnswer] = useState<AskQuery["ask"] | null>(null);
  const { error, busy, run } = useAction();
  useEffect(() => { void run(async () => setNames((await request(Names)).collections.map((c) => c.name))); }, []);
  return (
    <>
      <h1>Ask</h1>
      <form class="row" onSubmit={(e) => { e.preventDefault(); void run(async () => setAnswer((await request(AskQuestion, { question, collections: scope ? [scope] : null })).ask)); }}>
        <input aria-label="Question" placeholder="Ask a question about your documents" required value={question}
          onInput={(e) => setQuestion(e.currentTarget.value)} />
        <select aria-label="Collection to ask" value={scope} onChange={(e) => setScope(e.currentTarget.value)}>
          <option value="">All I search by default</option>
          {names.map((n) => <option value={n}>{n}</option>)}
        </select>
        <button type="submit" disabled={busy}>{busy ? "Asking…" : "Ask"}</button>
      </form>
      <ErrorText error={error} />
      {answer && (
        <article aria-label="Answer" aria-live="polite">
          <p class="badge" data-mode={answer.mode}>{answer.mode === "GENERATIVE" ? "Generated answer" : "Extractive answer (quoted passages)"}</p>
          {answer.found ? <Linked text={answer.answer} prefix="ask-cite" count={answer.citations.length} />
            : <p>Nothing relevant was found in the documents you may read.</p>}
          <Citations items={answer.citations} prefix="ask-cite" />
        </article>
      )}
    </>
  );
}
