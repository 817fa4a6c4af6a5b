import { useState } from "preact/hooks";
import { request, setTokens } from "../api";
import { graphql } from "../gql";
import { ErrorText, useAction } from "../ui";

const Login = graphql(`
  mutation Login($input: LoginInput!) { login(input: $input) { accessToken refreshToken expiresIn } }
`);
const Register = graphql(`mutation Register($input: RegisterInput!) { register(input: $input) { id } }`);

export function SignIn() {
  const [mode, setMode] = useState<"signin" | "register">("signin");
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [email, setEmail] = useState("");
  const { error, busy, run } = useAction();
  const [note, setNote] = useState<string | null>(null);

  const submit = (event: Event) => {
    event.preventDefault();
    void run(async () => {
      if (mode === "register") {
        await request(Register, { input: { username, password, email: email || null } });
        setNote("Account created.");
      }
      const data = await request(Login, { input: { username, password } });
      setTokens(data.login);
    });
  };

  return (
    <main class="narrow">
      <h1>{mode === "signin" ? "Sign in to AgentHub" : "Create an AgentHub account"}</h1>
      <form onSubmit={submit}>
        <label>Username<input name="username" autoComplete="username" required value={username}
          onInput={(e) => setUsername(e.currentTarget.value)} /></label>
        <label>Password<input name="password" type="password" required
          autoComplete={mode === "signin" ? "current-password" : "new-password"} value={password}
          onInput={(e) => setPassword(e.currentTarget.value)} /></label>
        {mode === "register" && (
          <label>Email (optional)<input name="email" type="email" autoComplete="email" value={email}
            onInput={(e) => setEmail(e.currentTarget.value)} /></label>
        )}
        <button type="submit" disabled={busy}>{mode === "signin" ? "Sign in" : "Register"}</button>
      </form>
      <ErrorText error={error} />
      {note && <p role="status">{note}</p>}
      <p>
        {mode === "signin" ? "No account yet? " : "Have an account? "}
        <button type="button" class="link" onClick={() => setMode(mode === "signin" ? "register" : "signin")}>
          {mode === "signin" ? "Register" : "Sign in"}
        </button>
      </p>
    </main>
  );
}
