import { useEffect, useRef, useState } from "preact/hooks";
import { request, subscribe, type ApiError, describe } from "../api";
import { graphql } from "../gql";
import type { AgentRunSubscription, ConversationsQuery } from "../gql/graphql";
import { Citations, Linked, type Cite } from "../cite";
import { ErrorText, useAction, when } from "../ui";

const Conversations = graphql(`
  query Conversations { conversations(first: 50) { nodes { id title updatedAt } } }
`);
const Conversation = graphql(`
  query Conversation($id: ID!) { conversation(id: $id) { id title messages { role content runId at } } }
`);
const Start = graphql(`
  subscription AgentRun($input: AgentRunInput!) { agentRun(input: $input) { runId seq type delta tool data } }
`);
const Resume = graphql(`
  subscription AgentRunEvents($runId: ID!, $afterSeq: Int!) {
    agentRunEvents(runId: $runId, afterSeq: $afterSeq) { runId seq type delta tool data }
  }
`);
const DeleteConversation = graphql(`mutation DeleteConversation($id: ID!) { deleteConversation(id: $id) }`);
const Cancel = graphql(`mutation CancelAgentRun($runId: ID!) { cancelAgentRun(runId: $runId) { id status } }`);

type Step = { tool: string; arguments: unknown; summary: string | null; error: boolean };
/** The run on screen; kept in sessionStorage after every event so a reload resumes after `seq`. */
type Live = {
  runId: string | null; conversationId: string | null; question: string; seq: number; text: string;
  steps: Step[]; citations: Cite[]; status: "RUNNING" | "FINISHED" | "FAILED" | "CANCELLED"; mode: string; error: string | null;
};
const KEY = "agenthub.run";
type RunEvent = AgentRunSubscription["agentRun"];

function apply(live: Live, event: RunEvent): Live {
  if (event.seq <= live.seq) return live; // replayed already: never shown twice
  const data = (event.data ?? {}) as Record<string, any>;
  const next: Live = { ...live, runId: event.runId, seq: event.seq };
  switch (event.type) {
    case "RUN_STARTED":
      next.conversationId = data.conversationId ?? live.conversationId;
      next.mode = data.mode ?? "";
      break;
    case "TOKEN":
      next.text = live.text + (event.delta ?? "");
      break;
    case "TOOL_CALL":
      next.steps = [...live.steps, { tool: event.tool ?? "?", arguments: data.arguments, summary: null, error: false }];
      break;
    case "TOOL_RESULT": {
      const steps = [...live.steps];
      const i = steps.map((s) => s.summary === null && s.tool === event.tool).lastIndexOf(true);
      if (i >= 0) steps[i] = { ...steps[i], summary: data.summary ?? "", error: !!data.error };
      next.steps = steps;
      break;
    }
    case "CITATION":
      next.citations = [...live.citations, { documentId: data.document_id ?? data.documentId, title: data.title, snippet: data.snippet, score: data.score }];
      break;
    case "RUN_FINISHED":
      next.status = data.status === "CANCELLED" ? "CANCELLED" : "FINISHED";
      if (!next.text && data.answer) next.text = data.answer;
      break;
    case "RUN_FAILED":
      next.status = data.status === "CANCELLED" ? "CANCELLED" : "FAILED";
      next.error = data.error ?? data.message ?? "The run failed.";
      break;
  }
  return next;
}

type Message = { role: string; content: string; runId?: string | null };
/** The saved messages minus those of the run shown live (after a reload the server has some of them). */
function shown(history: Message[], live: Live | null): Message[] {
  if (!live) return history;
  const rest = history.filter((m) => !(live.runId && m.runId === live.runId));
  const last = rest[rest.length - 1];
  return last && last.role === "USER" && last.content === live.question ? rest.slice(0, -1) : rest;
}

function stored(): Live | null {
  try { return JSON.parse(sessionStorage.getItem(KEY) ?? "null"); } catch { return null; }
}

export function Agent() {
  const [conversations, setConversations] = useState<ConversationsQuery["conversations"]["nodes"]>([]);
  const [current, setCurrent] = useState<string | null>(stored()?.conversationId ?? null);
  const [history, setHistory] = useState<Message[]>([]);
  const [message, setMessage] = useState("");
  const [live, setLive] = useState<Live | null>(stored());
  const [streamError, setStreamError] = useState<string | null>(null);
  const stop = useRef<(() => void) | null>(null);
  const liveRef = useRef<Live | null>(live);
  const { error, run } = useAction();

  const loadList = () => run(async () => setConversations((await request(Conversations)).conversations.nodes));
  const open = (id: string | null) => {
    setCurrent(id);
    if (!id) return setHistory([]);
    void run(async () => setHistory((await request(Conversation, { id })).conversation.messages ?? []));
  };

  const onEvent = (event: RunEvent) => {
    const next = apply(liveRef.current!, event);
    liveRef.current = next;
    sessionStorage.setItem(KEY, JSON.stringify(next));
    setLive(next);
    if (next.status !== "RUNNING") {
      stop.current?.();
      stop.current = null;
      if (next.conversationId) setCurrent(next.conversationId);
      void loadList();
    }
  };
  const handlers = {
    error: (e: ApiError) => setStreamError(describe(e)),
    complete: () => { stop.current = null; },
  };
  const resume = (runId: string, afterSeq: number) => {
    stop.current = subscribe(Resume, { runId, afterSeq }, { next: (d) => onEvent(d.agentRunEvents), ...handlers });
  };

  useEffect(() => {
    void loadList();
    if (current) open(current);
    const saved = liveRef.current;
    if (saved?.runId && saved.status === "RUNNING") {
      resume(saved.runId, saved.seq); // reloaded mid-run: the events after the last one shown, then live ones
    }
    return () => stop.current?.();
  }, []);

  const send = (e: Event) => {
    e.preventDefault();
    if (!message.trim() || live?.status === "RUNNING") return;
    setStreamError(null);
    const fresh: Live = { runId: null, conversationId: current, question: message, seq: 0, text: "", steps: [], citations: [], status: "RUNNING", mode: "", error: null };
    liveRef.current = fresh;
    setLive(fresh);
    sessionStorage.setItem(KEY, JSON.stringify(fresh));
    stop.current = subscribe(Start, { input: { message, conversationId: current } }, {
      next: (d) => onEvent(d.agentRun),
      complete: handlers.complete,
      error: (e) => {
        // The socket dropped mid-run: follow the same run from the last event seen.
        const now = liveRef.current;
        if (e.code === "NETWORK" && now?.runId && now.status === "RUNNING") resume(now.runId, now.seq);
        else handlers.error(e);
      },
    }, { once: true });
    setMessage("");
  };

  const cancel = () => {
    const runId = liveRef.current?.runId;
    if (runId) void run(async () => { await request(Cancel, { runId }); });
  };

  return (
    <>
      <h1>Agent</h1>
      <div class="split">
        <nav aria-label="Conversations" class="side">
          <button type="button" onClick={() => { open(null); setLive(null); sessionStorage.removeItem(KEY); }}>New conversation</button>
          <ul>
            {conversations.map((c) => (
              <li><a href="#/agent" aria-current={c.id === current ? "true" : undefined}
                onClick={(e) => { e.preventDefault(); open(c.id); if (liveRef.current?.status !== "RUNNING") setLive(null); }}>
                {c.title || "Untitled"}</a> <span class="muted">{when(c.updatedAt)}</span>{" "}
                <button type="button" class="link" aria-label={`Delete conversation ${c.title || "Untitled"}`}
                  onClick={() => confirm(`Delete “${c.title || "Untitled"}”?`) && void run(async () => {
                    await request(DeleteConversation, { id: c.id });
                    if (c.id === current) { open(null); setLive(null); sessionStorage.removeItem(KEY); }
                    await loadList();
                  })}>delete</button></li>
            ))}
          </ul>
        </nav>
        <section class="chat" aria-label="Chat">
          <ErrorText error={error} />
          <ol class="messages">
            {shown(history, live).map((m) => (
              <li class={m.role.toLowerCase()}><span class="visually-hidden">{m.role === "USER" ? "You" : "Agent"}: </span>{m.content}</li>
            ))}
          </ol>
          {live && (
            <article class="live" aria-label="Current run" data-status={live.status} data-run={live.runId ?? ""}>
              <p class="user">{live.question}</p>
              {live.mode && <p class="badge">mode: {live.mode.toLowerCase().replace("_", " ")}</p>}
              {live.steps.length > 0 && (
                <ol class="steps" aria-label="Tool steps">
                  {live.steps.map((s) => (
                    <li class={s.error ? "error" : ""} data-tool={s.tool}>
                      <code>{s.tool}</code>(<code>{JSON.stringify(s.arguments)}</code>) → {s.summary ?? "running…"}
                    </li>
                  ))}
                </ol>
              )}
              <div class="assistant" aria-live="polite" data-testid="answer">
                <Linked text={live.text} prefix="run-cite" count={live.citations.length} />
                {live.status === "RUNNING" && <span class="cursor" aria-hidden="true">▍</span>}
              </div>
              <Citations items={live.citations} prefix="run-cite" />
              <p class="muted" role="status">{live.status === "RUNNING" ? "Running…" : live.status.toLowerCase()}{live.error ? `: ${live.error}` : ""}</p>
              {live.status === "RUNNING" && <button type="button" onClick={cancel} disabled={!live.runId}>Cancel</button>}
            </article>
          )}
          <ErrorText error={streamError} />
          <form class="row" onSubmit={send}>
            <textarea aria-label="Message to the agent" rows={2} required value={message}
              onInput={(e) => setMessage(e.currentTarget.value)}
              onKeyDown={(e) => { if (e.key === "Enter" && !e.shiftKey) send(e); }} />
            <button type="submit" disabled={live?.status === "RUNNING"}>Send</button>
          </form>
        </section>
      </div>
    </>
  );
}
