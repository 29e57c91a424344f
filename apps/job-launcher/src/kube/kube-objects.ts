// Moved to libs/launch (@wharf/launch), shared with the scheduler's workflow preflight.
export type * from '@wharf/launch';
