import type { ListStreamsResponse, StreamServiceService } from '@wharf/contracts';
import type { ServiceHandlers } from '@wharf/platform';
import type { StreamRegistry } from './stream-registry';

/**
 * StreamService: the caller's streams, as desired state on wharf.streams (see
 * {@link StreamRegistry}). The caller's tenant owns what it creates; spec.tenant is ignored.
 * Every answer redacts the HTTP source's bearer token and credential headers.
 */
export function streamServiceHandlers(registry: StreamRegistry): ServiceHandlers<typeof StreamServiceService> {
  return {
    async createStream(request, ctx) {
      return (await registry.create(ctx.principal.tenant, request.spec)).stream;
    },
    async updateStream(request, ctx) {
      return registry.update(ctx.principal.tenant, request.spec);
    },
    async pauseStream(request, ctx) {
      return registry.setDesiredState(ctx.principal.tenant, request.streamId, true);
    },
    async resumeStream(request, ctx) {
      return registry.setDesiredState(ctx.principal.tenant, request.streamId, false);
    },
    async deleteStream(request, ctx) {
      return registry.delete(ctx.principal.tenant, request.streamId);
    },
    async getStream(request, ctx) {
      return registry.get(ctx.principal.tenant, request.streamId);
    },
    async listStreams(_request, ctx): Promise<ListStreamsResponse> {
      return { streams: registry.list(ctx.principal.tenant) };
    },
    async getStreamStats(request, ctx) {
      return registry.stats(ctx.principal.tenant, request.streamId);
    },
  };
}
