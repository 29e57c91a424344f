/** Stops what global-setup started. */
export default async function globalTeardown(): Promise<void> {
  await globalThis.__wharfInfra?.stop();
  globalThis.__wharfInfra = undefined;
}
