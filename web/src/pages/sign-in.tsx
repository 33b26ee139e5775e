/** Sign in by pasting a token (the login URL `docket serve` prints signs in without this page). */
import { useState } from 'preact/hooks';
import { setToken } from '../auth';
import { ErrorNote } from '../components/ui';

export function SignInPage({ notice, onSignedIn }: { notice: unknown; onSignedIn: () => void }) {
  const [value, setValue] = useState('');
  return (
    <main id="main" class="sign-in">
      <h1>Sign in to docket</h1>
      <ErrorNote error={notice} />
      <p>
        Open the login URL <code>docket serve</code> printed, or paste a token made with{' '}
        <code>docket token create</code>. It is kept for this browser tab only.
      </p>
      <form
        onSubmit={(event) => {
          event.preventDefault();
          if (value.trim() === '') return;
          setToken(value);
          onSignedIn();
        }}
      >
        <label for="token">Token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="off"
          required
          value={value}
          onInput={(event) => setValue(event.currentTarget.value)}
        />
        <button type="submit" class="primary">
          Sign in
        </button>
      </form>
    </main>
  );
}
