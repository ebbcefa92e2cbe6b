import { createHash } from 'node:crypto';

/**
 * The unit a run or conversion is counted for: the serialized key, hashed when `hashKeys` is
 * on (so stored rows never hold raw user ids), or `run:<runId>` for runs without a key.
 */
export function unitOfKey(key: string, hashKeys: boolean): string {
  return hashKeys ? `h:${createHash('sha256').update(key).digest('base64url').slice(0, 27)}` : key;
}

export function unitOfRun(runId: string): string {
  return `run:${runId}`;
}
