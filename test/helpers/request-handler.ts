/**
 * An SDK request handler (`@smithy/types` `HttpHandler`) made of one `handle` function: what
 * a test gives the clients to see each request and answer it as the service would, without a
 * socket. The rest of the interface is inert.
 */
import type { HttpRequest, HttpResponse } from '@smithy/types';

export function requestHandler(handle: (request: HttpRequest) => Promise<{ response: HttpResponse }>) {
  return {
    metadata: { handlerProtocol: 'http/1.1' },
    destroy() {},
    updateHttpClientConfig() {},
    httpHandlerConfigs: () => ({}),
    handle,
  };
}
