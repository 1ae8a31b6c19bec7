/**
 * permessage-deflate negotiation is one module for both roles now:
 * src/extensions/permessage-deflate-negotiation.ts. This re-export remains
 * only while src/index.ts imports the public option type from here.
 */
export type { ClientDeflateOptions } from '../extensions/permessage-deflate-negotiation.js';
