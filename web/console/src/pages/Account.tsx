import { useEffect, useState } from "preact/hooks";
import { request } from "../api";
import { graphql } from "../gql";
import type { ApiKeysQuery, Permission, SessionsQuery } from "../gql/graphql";
import { ErrorText, Section, useAction, when } from "../ui";

const Sessions = graphql(`query Sessions { sessions { id createdAt lastUsedAt expiresAt ip userAgent current } }`);
const RevokeSession = graphql(`mutation RevokeSession($id: ID!) { revokeSession(id: $id) }`);
const ApiKeys = graphql(`query ApiKeys { apiKeys { id name scopes createdAt lastUsedAt expiresAt revoked } me { permissions } }`);
const CreateApiKey = graphql(`
  mutation CreateApiKey($input: CreateApiKeyInput!) { createApiKey(input: $input) { key apiKey { id name } } }
`);
const RevokeApiKey = graphql(`mutation RevokeApiKey($id: ID!) { revokeApiKey(id: $id) }`);

export function Account() {
  const [sessions, setSessions] = useState<SessionsQuery["sessions"]>([]);
  const [keys, setKeys] = useState<ApiKeysQuery["apiKeys"]>([]);
  const [mine, setMine] = useState<Permission[]>([]);
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<Permission[]>([]);
  const [created, setCreated] = useState<string | null>(null);
  const [copied, setCopied] = useState(false);
  const s = useAction();
  const k = useAction();

  const loadSessions = () => s.run(async () => setSessions((await request(Sessions)).sessions));
  const loadKeys = () => k.run(async () => { const d = await request(ApiKeys); setKeys(d.apiKeys); setMine(d.me.permissions); });
  useEffect(() => { void loadSessions(); void loadKeys(); }, []);

  return (
    <>
      <h1>Account</h1>
      <Section title="Sessions">
        <ErrorText error={s.error} />
        <div class="table-wrap"><table>
          <thead><tr><th>Started</th><th>Last used</th><th>Client</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>{sessions.map((x) => (
            <tr><td>{when(x.createdAt)}</td><td>{when(x.lastUsedAt)}</td><td>{x.ip ?? ""} {x.userAgent?.slice(0, 60) ?? ""}{x.current ? " (this one)" : ""}</td>
              <td>{!x.current && <button type="button" aria-label={`Revoke session started ${when(x.createdAt)}`}
                onClick={() => void s.run(async () => { await request(RevokeSession, { id: x.id }); await loadSessions(); })}>Revoke</button>}</td></tr>
          ))}</tbody>
        </table></div>
      </Section>
      <Section title="API keys">
        <form onSubmit={(e) => {
          e.preventDefault();
          void k.run(async () => {
            const d = await request(CreateApiKey, { input: { name, scopes } });
            setCreated(d.createApiKey.key); setCopied(false); setName(""); await loadKeys();
          });
        }}>
          <label>Key name<input required value={name} onInput={(e) => setName(e.currentTarget.value)} /></label>
          <fieldset><legend>Scopes</legend>
            {mine.map((p) => (
              <label class="inline"><input type="checkbox" checked={scopes.includes(p)}
                onChange={(e) => setScopes(e.currentTarget.checked ? [...scopes, p] : scopes.filter((x) => x !== p))} />{p}</label>
            ))}
          </fieldset>
          <button type="submit" disabled={k.busy || !scopes.length}>Create key</button>
        </form>
        {created && (
          <div class="created" role="status">
            <p>Your new key, shown only this once. Store it now:</p>
            <code aria-label="New API key" data-testid="new-key">{created}</code>
            <button type="button" onClick={() => void navigator.clipboard?.writeText(created).then(() => setCopied(true), () => setCopied(false))}>
              {copied ? "Copied" : "Copy"}</button>
            <button type="button" onClick={() => setCreated(null)}>Done</button>
          </div>
        )}
        <ErrorText error={k.error} />
        <div class="table-wrap"><table>
          <thead><tr><th>Name</th><th>Scopes</th><th>Created</th><th>Last used</th><th>State</th><th><span class="visually-hidden">Actions</span></th></tr></thead>
          <tbody>{keys.map((x) => (
            <tr data-key={x.name}><td>{x.name}</td><td>{x.scopes.join(", ")}</td><td>{when(x.createdAt)}</td><td>{when(x.lastUsedAt)}</td>
              <td>{x.revoked ? "revoked" : "active"}</td>
              <td>{!x.revoked && <button type="button" aria-label={`Revoke key ${x.name}`}
                onClick={() => void k.run(async () => { await request(RevokeApiKey, { id: x.id }); await loadKeys(); })}>Revoke</button>}</td></tr>
          ))}</tbody>
        </table></div>
      </Section>
    </>
  );
}
