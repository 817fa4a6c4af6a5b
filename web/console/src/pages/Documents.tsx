import { useEffect, useState } from "preact/hooks";
import { download, request, subscribe, upload } from "../api";
import { graphql } from "../gql";
import type { CollectionsQuery, DocumentsQuery, IngestionStatus, SearchQuery } from "../gql/graphql";
import { ErrorText, Section, useAction, when } from "../ui";

const Collections = graphql(`
  query Collections {
    collections { id name visibility role owner subscribed members { userId role } }
    collectionInvitations { id name visibility owner }
  }
`);
const Subscribe = graphql(`mutation SubscribeCollection($collection: String!) { subscribeCollection(collection: $collection) { id } }`);
const Unsubscribe = graphql(`mutation UnsubscribeCollection($collection: String!) { unsubscribeCollection(collection: $collection) }`);
const Accept = graphql(`mutation AcceptInvitation($collection: ID!) { acceptCollectionInvitation(collection: $collection) { id } }`);
const CreateCollection = graphql(`
  mutation CreateCollection($name: String!, $visibility: CollectionVisibility!) {
    createCollection(name: $name, visibility: $visibility) { id }
  }
`);
const AddMember = graphql(`
  mutation AddMember($collection: String!, $userId: ID!, $role: CollectionMemberRole!) {
    addCollectionMember(collection: $collection, userId: $userId, role: $role) { id }
  }
`);
const DocumentsList = graphql(`
  query Documents($collection: String, $after: String) {
    documents(collection: $collection, first: 20, after: $after) {
      totalCount
      nodes { id title collectionName mimeType sizeBytes chunkCount status error createdAt }
      pageInfo { endCursor hasNextPage }
    }
  }
`);
const DeleteDocument = graphql(`mutation DeleteDocument($id: ID!) { deleteDocument(id: $id) { id } }`);
const Search = graphql(`
  query Search($query: String!, $collections: [String!]) {
    search(query: $query, collections: $collections, topK: 10) { chunkId documentId title content score }
  }
`);
const CancelJob = graphql(`mutation CancelIngestionJob($id: ID!) { cancelIngestionJob(id: $id) { id status } }`);
const Progress = graphql(`
  subscription IngestionProgress($jobId: ID!) {
    ingestionProgress(jobId: $jobId) { id status progress error chunkCount documentId }
  }
`);

type Row = {
  key: string; name: string; jobId?: string; phase: "uploading" | IngestionStatus | "refused";
  progress: number; detail: string;
};

export function Documents() {
  const [collections, setCollections] = useState<CollectionsQuery["collections"]>([]);
  const [invitations, setInvitations] = useState<CollectionsQuery["collectionInvitations"]>([]);
  const [collection, setCollection] = useState<string>("");
  const [docs, setDocs] = useState<DocumentsQuery["documents"] | null>(null);
  const [rows, setRows] = useState<Row[]>([]);
  const [hits, setHits] = useState<SearchQuery["search"] | null>(null);
  const [query, setQuery] = useState("");
  const [dragging, setDragging] = useState(false);
  const list = useAction();
  const uploads = useAction();
  const find = useAction();

  const loadCollections = () => list.run(async () => {
    const data = await request(Collections);
    setCollections(data.collections);
    setInvitations(data.collectionInvitations);
  });
  const act = (fn: () => Promise<unknown>) => list.run(async () => { await fn(); await loadCollections(); });
  const loadDocs = () => list.run(async () => setDocs((await request(DocumentsList, { collection: collection || null })).documents));
  useEffect(() => { void loadCollections(); }, []);
  useEffect(() => { void loadDocs(); }, [collection]);

  const patch = (key: string, change: Partial<Row>) =>
    setRows((all) => all.map((r) => (r.key === key ? { ...r, ...change } : r)));

  const send = (files: File[]) => {
    if (!files.length) return;
    const batch = `${Date.now()}`;
    const fresh: Row[] = files.map((f, i) => ({ key: `${batch}-${i}`, name: f.name, phase: "uploading", progress: 0, detail: "" }));
    setRows((all) => [...fresh, ...all]);
    void uploads.run(async () => {
      const results = await upload(files, collection || null, (fraction) =>
        fresh.forEach((r) => patch(r.key, { progress: fraction * 0.3 })));
      results.forEach((result, i) => {
        const key = fresh[i].key;
        if (!result.jobId) return patch(key, { phase: "refused", progress: 0, detail: result.error ?? "refused" });
        patch(key, { phase: "QUEUED", progress: 0.3, jobId: result.jobId });
        const stop = subscribe(Progress, { jobId: result.jobId }, {
          next: ({ ingestionProgress: job }) => {
            patch(key, {
              phase: job.status, progress: 0.3 + 0.7 * job.progress,
              detail: job.status === "DONE" ? `${job.chunkCount ?? 0} chunks` : job.error ?? "",
            });
            if (job.status === "DONE" || job.status === "FAILED" || job.status === "CANCELLED") { stop(); void loadDocs(); }
          },
          error: (e) => patch(key, { detail: e.message }),
        });
      });
    }).catch(() => undefined);
    // A failed request (not a per-file refusal) marks the whole batch.
  };

  useEffect(() => {
    if (uploads.error) setRows((all) => all.map((r) => (r.phase === "uploading" ? { ...r, phase: "refused", detail: uploads.error! } : r)));
  }, [uploads.error]);

  return (
    <>
      <h1>Documents</h1>
      <Section title="Collections">
        <CollectionForm onCreated={loadCollections} />
        <label>Show collection
          <select value={collection} onChange={(e) => setCollection(e.currentTarget.value)}>
            <option value="">All I may read</option>
            {collections.map((c) => <option value={c.name}>{c.name} ({c.visibility.toLowerCase()}, {c.role.toLowerCase()}{c.subscribed ? ", subscribed" : ""})</option>)}
          </select>
        </label>
        {invitations.length > 0 && (
          <ul aria-label="Invitations">{invitations.map((c) => (
            <li>Invitation to <strong>{c.name}</strong> ({c.visibility.toLowerCase()}){" "}
              <button type="button" onClick={() => void act(() => request(Accept, { collection: c.id }))}>Accept {c.name}</button></li>
          ))}</ul>
        )}
        {collections.filter((c) => c.name === collection && c.role === "READER").map((c) => (
          <p>{c.subscribed ? "Searched by default (subscribed). " : "Another user's public collection: searched only when chosen. "}
            <button type="button" onClick={() => void act(() => c.subscribed
              ? request(Unsubscribe, { collection: c.name }) : request(Subscribe, { collection: c.name }))}>
              {c.subscribed ? "Unsubscribe" : "Subscribe"}</button></p>
        ))}
        {collections.filter((c) => c.name === collection && (c.role === "OWNER" || c.role === "ADMIN")).map((c) => (
          <MemberForm collection={c.name} members={c.members} onChanged={loadCollections} />
        ))}
      </Section>
      <Section title="Upload">
        <div class={`drop ${dragging ? "over" : ""}`}
          onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
          onDragLeave={() => setDragging(false)}
          onDrop={(e) => { e.preventDefault(); setDragging(false); send([...(e.dataTransfer?.files ?? [])]); }}>
          <p>Drop .txt, .md, .html, .pdf or .docx files here{collection ? ` (into ${collection})` : ""}, or</p>
          <label class="button">Choose files
            <input type="file" multiple class="visually-hidden" aria-label="Choose files to upload"
              onChange={(e) => { send([...(e.currentTarget.files ?? [])]); e.currentTarget.value = ""; }} />
          </label>
        </div>
        <ErrorText error={uploads.error} />
        <ul class="uploads" aria-label="Uploads">
          {rows.map((r) => (
            <li data-file={r.name} data-phase={r.phase}>
              <span class="name">{r.name}</span>
              <progress max={1} value={r.progress} aria-label={`${r.name} progress`} />
              <span class={`phase ${r.phase === "refused" || r.phase === "FAILED" ? "error" : ""}`}>{r.phase}</span>
              {r.detail && <span class="detail">{r.detail}</span>}
              {r.jobId && (r.phase === "QUEUED" || r.phase === "RUNNING") && (
                <button type="button" aria-label={`Cancel ${r.name}`}
                  onClick={() => void uploads.run(() => request(CancelJob, { id: r.jobId! }))}>Cancel</button>
              )}
            </li>
          ))}
        </ul>
      </Section>
      <Section title="Search">
        <form class="row" onSubmit={(e) => { e.preventDefault(); void find.run(async () => setHits((await request(Search, { query, collections: collection ? [collection] : null })).search)); }}>
          <input aria-label="Search passages" placeholder="Search passages" required value={query} onInput={(e) => setQuery(e.currentTarget.value)} />
          <button type="submit" disabled={find.busy}>Search</button>
        </form>
        <ErrorText error={find.error} />
        {hits && (hits.length ? (
          <ol class="hits">{hits.map((h) => <li><strong>{h.title}</strong> <span class="muted">score {h.score.toFixed(3)}</span><p>{h.content}</p></li>)}</ol>
        ) : <p>No passages found.</p>)}
      </Section>
      <Section title="Library">
        <button type="button" onClick={() => void loadDocs()}>Refresh</button>
        <ErrorText error={list.error} />
        {docs && <p class="muted">{docs.totalCount} document(s)</p>}
        <div class="table-wrap">
          <table>
            <thead><tr><th>Title</th><th>Collection</th><th>Status</th><th>Chunks</th><th>Added</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
            <tbody>
              {docs?.nodes.map((d) => (
                <tr data-document={d.title}>
                  <td>{d.title}</td>
                  <td>{d.collectionName}</td>
                  <td class={d.status === "FAILED" ? "error" : ""}>{d.status}{d.error ? `: ${d.error}` : ""}</td>
                  <td>{d.chunkCount}</td>
                  <td>{when(d.createdAt)}</td>
                  <td class="actions">
                    <button type="button" aria-label={`Download ${d.title}`} onClick={() => void list.run(() => download(`/rag/documents/${d.id}/download`, d.title))}>Download</button>
                    <button type="button" aria-label={`Delete ${d.title}`} onClick={() => {
                      if (confirm(`Delete ${d.title}?`)) void list.run(async () => { await request(DeleteDocument, { id: d.id }); await loadDocs(); });
                    }}>Delete</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
        {docs?.pageInfo.hasNextPage && (
          <button type="button" onClick={() => void list.run(async () => {
            const next = (await request(DocumentsList, { collection: collection || null, after: docs.pageInfo.endCursor })).documents;
            setDocs({ ...next, nodes: [...docs.nodes, ...next.nodes] });
          })}>More</button>
        )}
      </Section>
    </>
  );
}

function CollectionForm({ onCreated }: { onCreated: () => void }) {
  const [name, setName] = useState("");
  const [visibility, setVisibility] = useState<"PRIVATE" | "PUBLIC">("PRIVATE");
  const { error, busy, run } = useAction();
  return (
    <form class="row" onSubmit={(e) => {
      e.preventDefault();
      void run(async () => { await request(CreateCollection, { name, visibility }); setName(""); onCreated(); });
    }}>
      <input aria-label="New collection name" placeholder="New collection" required value={name} onInput={(e) => setName(e.currentTarget.value)} />
      <select aria-label="Visibility" value={visibility} onChange={(e) => setVisibility(e.currentTarget.value as "PRIVATE" | "PUBLIC")}>
        <option value="PRIVATE">Private</option><option value="PUBLIC">Public</option>
      </select>
      <button type="submit" disabled={busy}>Create collection</button>
      <ErrorText error={error} />
    </form>
  );
}

function MemberForm({ collection, members, onChanged }: { collection: string; members: { userId: string; role: string }[]; onChanged: () => void }) {
  const [userId, setUserId] = useState("");
  const [role, setRole] = useState<"VIEWER" | "EDITOR">("VIEWER");
  const { error, busy, run } = useAction();
  return (
    <div>
      <h3>Members of {collection}</h3>
      <ul>{members.map((m) => <li>{m.userId}: {m.role.toLowerCase()}</li>)}{!members.length && <li class="muted">none</li>}</ul>
      <form class="row" onSubmit={(e) => {
        e.preventDefault();
        void run(async () => { await request(AddMember, { collection, userId, role }); setUserId(""); onChanged(); });
      }}>
        <input aria-label="User id" placeholder="User id" required value={userId} onInput={(e) => setUserId(e.currentTarget.value)} />
        <select aria-label="Member role" value={role} onChange={(e) => setRole(e.currentTarget.value as "VIEWER" | "EDITOR")}>
          <option value="VIEWER">Viewer</option><option value="EDITOR">Editor</option>
        </select>
        <button type="submit" disabled={busy}>Invite member</button>
        <ErrorText error={error} />
      </form>
    </div>
  );
}
