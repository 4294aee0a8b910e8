/**
 * How long to wait before the next reconnect of the conversation socket: 1, 2, 4, 8 … seconds,
 * never more than 30, so a brief outage is bridged fast and a long one does not hammer the
 * gateway.
 */
export const MAX_BACKOFF_SECONDS = 30;

/** The delay in milliseconds before reconnect attempt `attempt` (0 for the first). */
export function backoffMs(attempt: number): number {
  return Math.min(2 ** Math.max(0, attempt), MAX_BACKOFF_SECONDS) * 1000;
}
