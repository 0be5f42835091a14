/** How the console writes times, durations and states. */
export const time = (iso: string | undefined | null): string =>
  iso ? new Date(iso).toLocaleTimeString([], { hour12: false }) : '—';

export const dateTime = (iso: string | undefined | null): string =>
  iso ? new Date(iso).toLocaleString([], { hour12: false }) : '—';

export function duration(ms: number | null | undefined): string {
  if (ms === null || ms === undefined || Number.isNaN(ms)) return '—';
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)} min ${Math.round((ms % 60_000) / 1000)} s`;
  return `${Math.floor(ms / 3_600_000)} h ${Math.round((ms % 3_600_000) / 60_000)} min`;
}

/** The colour class of a job, step or order state. */
export const stateClass = (status: string | undefined): string => {
  switch (status) {
    case 'COMPLETED':
      return 'ok';
    case 'RUNNING':
    case 'IN_PROGRESS':
      return 'run';
    case 'FAILED':
    case 'DEAD':
      return 'bad';
    case 'CANCELLED':
      return 'off';
    default:
      return 'wait';
  }
};

/** The colours of states in charts and graphs (the same as the CSS classes). */
export const stateColours: Record<string, string> = {
  ok: '#2e9d5b',
  run: '#2f6fdb',
  bad: '#d2453b',
  off: '#8a8f98',
  wait: '#d69a1f',
};
