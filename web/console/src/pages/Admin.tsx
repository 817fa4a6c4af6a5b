import { useEffect, useState } from "preact/hooks";
import { request, subscribe } from "../api";
import { graphql } from "../gql";
import type { AuditLogQuery, HealthSubscription, Role, UsersQuery } from "../gql/graphql";
import type { Me } from "../main";
import { ErrorText, Section, useAction, when } from "../ui";

const Users = graphql(`
  query Users($search: String, $after: String) {
    users(first: 50, search: $search, after: $after) { nodes { id username email role active createdAt } pageInfo { endCursor hasNextPage } }
  }
`);
const SetRole = graphql(`mutation SetUserRole($userId: ID!, $role: Role!) { setUserRole(userId: $userId, role: $role) { id role } }`);
const SetActive = graphql(`mutation SetUserActive($userId: ID!, $active: Boolean!) { setUserActive(userId: $userId, active: $active) { id active } }`);
const Audit = graphql(`
  query AuditLog($filter: AuditFilter) {
    auditLog(filter: $filter, first: 50) { nodes { id at actor actorType action resource outcome ip requestId detail } }
  }
`);
const Health = graphql(`
  subscription Health { health(intervalSeconds: 5) { status services { name status version latencyMs detail } } }
`);
const ROLES: Role[] = ["ADMIN", "USER", "SERVICE_ACCOUNT", "GUEST"];

export function Admin({ me }: { me: Me }) {
  return (
    <>
      <h1>Admin</h1>
      <HealthPanel />
      {me.permissions.includes("MANAGE_USERS") && <UsersPanel me={me} />}
      {me.permissions.includes("READ_SYSTEM") && <AuditPanel />}
    </>
  );
}

function HealthPanel() {
  const [health, setHealth] = useState<HealthSubscription["health"] | null>(null);
  const [at, setAt] = useState<Date | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => subscribe(Health, {}, {
    next: (d) => { setHealth(d.health); setAt(new Date()); setError(null); },
    error: (e) => setError(e.message),
  }), []);
  return (
    <Section title="Service health">
      <ErrorText error={error} />
      {health && <p>System <strong data-health={health.status}>{health.status}</strong> <span class="muted">(refreshed {at?.toLocaleTimeString()}, every 5 s)</span></p>}
      <ul>{health?.services.map((s) => (
        <li class={s.status === "UP" ? "" : "error"}>{s.name}: {s.status} {s.version ?? ""} {s.latencyMs != null ? `${s.latencyMs.toFixed(1)} ms` : ""} {s.detail}</li>
      ))}</ul>
    </Section>
  );
}

function UsersPanel({ me }: { me: Me }) {
  const [users, setUsers] = useState<UsersQuery["users"]["nodes"]>([]);
  const [search, setSearch] = useState("");
  const { error, run } = useAction();
  const load = () => run(async () => setUsers((await request(Users, { search: search || null })).users.nodes));
  useEffect(() => { void load(); }, []);
  return (
    <Section title="Users">
      <form class="row" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <input aria-label="Search users" placeholder="Search users" value={search} onInput={(e) => setSearch(e.currentTarget.value)} />
        <button type="submit">Search</button>
      </form>
      <ErrorText error={error} />
      <div class="table-wrap"><table>
        <thead><tr><th>User</th><th>Role</th><th>Active</th><th>Created</th></tr></thead>
        <tbody>{users.map((u) => (
          <tr data-user={u.username}>
            <td>{u.username}<br /><span class="muted">{u.id}</span></td>
            <td><select aria-label={`Role of ${u.username}`} value={u.role} disabled={u.id === me.id}
              onChange={(e) => { const role = e.currentTarget.value as Role; void run(async () => { await request(SetRole, { userId: u.id, role }); await load(); }); }}>
              {ROLES.map((r) => <option value={r}>{r}</option>)}</select></td>
            <td><input type="checkbox" aria-label={`${u.username} active`} checked={u.active} disabled={u.id === me.id}
              onChange={(e) => { const active = e.currentTarget.checked; void run(async () => { await request(SetActive, { userId: u.id, active }); await load(); }); }} /></td>
            <td>{when(u.createdAt)}</td>
          </tr>
        ))}</tbody>
      </table></div>
    </Section>
  );
}

function AuditPanel() {
  const [entries, setEntries] = useState<AuditLogQuery["auditLog"]["nodes"]>([]);
  const [actor, setActor] = useState("");
  const [action, setAction] = useState("");
  const [since, setSince] = useState("");
  const { error, run } = useAction();
  const load = () => run(async () => setEntries((await request(Audit, {
    filter: { actor: actor || null, action: action || null, since: since ? new Date(since).toISOString() : null },
  })).auditLog.nodes));
  useEffect(() => { void load(); }, []);
  return (
    <Section title="Audit log">
      <form class="row" onSubmit={(e) => { e.preventDefault(); void load(); }}>
        <input aria-label="Filter by actor" placeholder="Actor" value={actor} onInput={(e) => setActor(e.currentTarget.value)} />
        <input aria-label="Filter by action" placeholder="Action" value={action} onInput={(e) => setAction(e.currentTarget.value)} />
        <input aria-label="Since" type="datetime-local" value={since} onInput={(e) => setSince(e.currentTarget.value)} />
        <button type="submit">Filter</button>
      </form>
      <ErrorText error={error} />
      <div class="table-wrap"><table>
        <thead><tr><th>When</th><th>Actor</th><th>Action</th><th>Resource</th><th>Outcome</th><th>Detail</th></tr></thead>
        <tbody>{entries.map((a) => (
          <tr data-action={a.action}><td>{when(a.at)}</td><td>{a.actor ?? a.actorType}</td><td>{a.action}</td><td>{a.resource ?? ""}</td>
            <td>{a.outcome}</td><td><code>{JSON.stringify(a.detail)}</code></td></tr>
        ))}</tbody>
      </table></div>
    </Section>
  );
}
