import { status } from '@grpc/grpc-js';
import { StreamServiceService, WorkflowServiceService } from '@wharf/contracts';
import { WharfError, type ServiceHandlers } from '@wharf/platform';

/** Thrown by RPCs that are declared in the contract but not served yet. */
export class UnimplementedError extends WharfError {
  override readonly name: string = 'UnimplementedError';
  override readonly grpcCode = status.UNIMPLEMENTED;
}

function unimplemented<D extends object>(definition: D, what: string): ServiceHandlers<D> {
  const handlers: Record<string, () => Promise<never>> = {};
  for (const name of Object.keys(definition)) {
    handlers[name] = () => Promise.reject(new UnimplementedError(`${what} is not served by this scheduler version yet`));
  }
  return handlers as unknown as ServiceHandlers<D>;
}

/** WorkflowService and StreamService: authenticated, then UNIMPLEMENTED (another issue). */
export const workflowServiceHandlers = (): ServiceHandlers<typeof WorkflowServiceService> =>
  unimplemented(WorkflowServiceService, 'WorkflowService');
export const streamServiceHandlers = (): ServiceHandlers<typeof StreamServiceService> =>
  unimplemented(StreamServiceService, 'StreamService');
