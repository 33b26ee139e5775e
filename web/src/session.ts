/** Who is signed in (from `GET /me`) and what that role may do. */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';
import type { JobState, Me } from './types';

export const SessionContext = createContext<Me | null>(null);

export function useSession(): Me {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useSession outside a signed-in page');
  return me;
}

/** Viewers read; members and admins act on their jobs. The server enforces this too. */
export function canAct(me: Me): boolean {
  return me.role === 'admin' || me.role === 'member';
}

export type JobAction = 'cancel' | 'suspend' | 'resume' | 'retry' | 'delete';

const ALLOWED_FROM: Record<JobAction, readonly JobState[]> = {
  cancel: ['pending', 'running', 'suspended'],
  suspend: ['pending', 'running'],
  resume: ['suspended'],
  retry: ['failed', 'timeout', 'cancelled', 'skipped'],
  delete: ['completed', 'failed', 'timeout', 'cancelled', 'skipped'],
};

/** The actions a job's state allows (the same rules as the CLI and the API). */
export function actionsFor(state: JobState): JobAction[] {
  return (Object.keys(ALLOWED_FROM) as JobAction[]).filter((action) => ALLOWED_FROM[action].includes(state));
}
