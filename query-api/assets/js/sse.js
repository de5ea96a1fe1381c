/**
 * Reads a `text/event-stream` response body (Server-Sent Events over fetch, because
 * EventSource cannot send the key header). The parsing is eventsource-parser's (vendored,
 * see vendor/README.md): line endings, comments (keep-alives), multi-line data, `retry`.
 */
import { createParser } from '../vendor/eventsource-parser/index.js';

/**
 * Calls `onEvent(type, data)` for each event of `body` until the stream ends, and
 * `onRetry(ms)` for each `retry` field. A frame without data is dropped, and so is one not
 * ended by a blank line when the stream closes (as EventSource does). Event ids are not used:
 * a reconnect refreshes everything anyway.
 * @param {ReadableStream<BufferSource>} body
 * @param {(type: string, data: string) => void} onEvent
 * @param {(ms: number) => void} onRetry
 */
export async function readEventStream(body, onEvent, onRetry) {
  const parser = createParser({
    onEvent: (event) => onEvent(event.event || 'message', event.data),
    onRetry,
  });
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    parser.feed(value);
  }
}
