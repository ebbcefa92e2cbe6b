import type { Report } from '../../report/report-model.js';

/** Calls to the dashboard's JSON endpoints, from the page. */

/** An endpoint's error, with the server's message. */
export class RequestFailed extends Error {
  override readonly name = 'RequestFailed';
}

/** The report of every track set, or of one with its timeline (broken down by the dimension `by`, if given). */
export async function fetchReport(trackSetId?: string, by?: string): Promise<Report> {
  const params = new URLSearchParams();
  if (trackSetId !== undefined) params.set('trackset', trackSetId);
  if (by !== undefined) params.set('by', by);
  const query = params.toString();
  return (await call(query === '' ? '/api/report' : `/api/report?${query}`, { method: 'GET', headers: { Accept: 'application/json' } })) as Report;
}

/**
 * The list of track sets: the report of every set as `fetchReport()` gives it, for users,
 * status and warnings, without metric results (unless a declared metric is a guardrail).
 */
export async function fetchOverview(): Promise<Report> {
  return (await call('/api/overview', { method: 'GET', headers: { Accept: 'application/json' } })) as Report;
}

/** The dimensions a set's exposures carry (its `static dimensions`), sorted: what it can be broken down by. */
export async function fetchDimensions(trackSetId: string): Promise<string[]> {
  const answer = (await call(`/api/dimensions?trackset=${encodeURIComponent(trackSetId)}`, { method: 'GET', headers: { Accept: 'application/json' } })) as { dimensions: string[] };
  return answer.dimensions;
}

/**
 * Stops a test (serving `serve` to everyone), resumes it, or promotes a shadow set to a live
 * test; POST with the page's CSRF secret.
 */
export async function sendControl(action: 'stop' | 'resume' | 'promote', trackSetId: string, serve?: string): Promise<void> {
  const body = action === 'stop' ? { trackSetId, serve } : { trackSetId };
  await call(`/api/${action}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: JSON.stringify(body),
  });
}

/** Ramps a test live: new coverage (0 to 1) and/or weights by track; POST with the CSRF secret. */
export async function sendRamp(trackSetId: string, ramp: { coverage?: number; weights?: Record<string, number> }): Promise<void> {
  await call('/api/ramp', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'X-CSRF-Token': csrfToken() },
    body: JSON.stringify({ trackSetId, ...ramp }),
  });
}

function csrfToken(): string {
  return document.querySelector<HTMLMetaElement>('meta[name="csrf-token"]')?.content ?? '';
}

async function call(url: string, init: RequestInit): Promise<unknown> {
  const response = await fetch(url, { ...init, credentials: 'same-origin', cache: 'no-store' });
  const text = await response.text();
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw new RequestFailed(`${response.status} ${response.statusText}: ${text.slice(0, 200)}`);
  }
  if (!response.ok) {
    const message = typeof value === 'object' && value !== null && 'error' in value ? String(value.error) : response.statusText;
    throw new RequestFailed(message);
  }
  return value;
}
