/**
 * What the cluster backplane's worker side and the primary's relay say to
 * each other over node:cluster's IPC channel. Every message carries
 * `wsrfc: <kind>` so the relay ignores whatever else an application sends on
 * the same channel.
 *
 * Binary messages cross as bytes: the primary forks workers with
 * `serialization: 'advanced'` (the structured clone algorithm, see
 * workers.ts), under which a Buffer arrives as a Uint8Array over the same
 * bytes, no base64 (a third bigger, and an encode plus a decode on each hop).
 * A text message stays a string, so text and binary stay apart.
 */
import type { Message } from '../connection/websocket-connection.js';

/** worker → primary: this worker has its first subscriber of `topic`. */
export interface SubscribeMessage { wsrfc: 'subscribe'; topic: string }
/** worker → primary: this worker's last subscriber of `topic` left. */
export interface UnsubscribeMessage { wsrfc: 'unsubscribe'; topic: string }
/** worker → primary: deliver to the other workers that hold `topic`. */
export interface PublishMessage { wsrfc: 'publish'; topic: string; message: string | Uint8Array }
/** primary → worker: a message another worker published on `topic`. */
export interface DeliverMessage { wsrfc: 'deliver'; topic: string; message: string | Uint8Array }

export type WorkerToPrimary = SubscribeMessage | UnsubscribeMessage | PublishMessage;
export type PrimaryToWorker = DeliverMessage;

/** Is `value` one of ours (and not some other message on the same IPC channel)? */
export function isClusterMessage(value: unknown): value is WorkerToPrimary | PrimaryToWorker {
  if (typeof value !== 'object' || value === null) return false;
  const { wsrfc, topic } = value as { wsrfc?: unknown; topic?: unknown };
  return typeof wsrfc === 'string' && typeof topic === 'string';
}

/** A message as it came off the channel, back to what the server delivers: a string or a Buffer (no copy). */
export function toMessage(carried: string | Uint8Array): Message {
  if (typeof carried === 'string') return carried;
  return Buffer.isBuffer(carried) ? carried : Buffer.from(carried.buffer, carried.byteOffset, carried.byteLength);
}
