/** The UTC day (`YYYY-MM-DD`) of an epoch time: the day data usage counts bytes on. */
export const usageDay = (atMs: number): string => new Date(atMs).toISOString().slice(0, 10);
