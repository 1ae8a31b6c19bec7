/**
 * The error of a client whose opening handshake failed (RFC 6455 §4.1):
 * raised by the response checks (upgrade-response.ts, client-negotiation.ts)
 * and by the client's handshake machine (client-handshake.ts).
 */
import { WebSocketError } from '../errors.js';
import type { HttpResponseHead } from './http-head-parser.js';

/**
 * The opening handshake failed on the client's side: the server's response
 * broke a rule of §4.1 / §4.2.2, did not arrive in time, or was not an HTTP
 * response at all. A remote fault, like `HandshakeError` on the server side,
 * but nothing is answered: the client just closes TCP.
 */
export class ClientHandshakeError extends WebSocketError {
  /** Section of RFC 6455 whose rule was broken, e.g. `4.1`. */
  readonly rfcSection: string;
  /** The server's response head, when one arrived (its status, its headers). */
  readonly response: HttpResponseHead | undefined;
  /** The start of the body of a non-101 answer, as text (servers often explain the refusal there). */
  readonly body: string | undefined;

  constructor(code: string, rfcSection: string, message: string, response?: HttpResponseHead, body?: string) {
    super(code, message);
    this.rfcSection = rfcSection;
    this.response = response;
    this.body = body;
  }

  /** The server's HTTP status, if a response head arrived. */
  get status(): number | undefined {
    return this.response?.status;
  }
}
