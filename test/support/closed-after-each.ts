import { afterEach } from 'vitest';

interface Closable {
  close(): Promise<void>;
}

/**
 * Registers an afterEach that closes what the test opened, last opened first; returns `keep`,
 * which takes each thing as it is opened and hands it back.
 */
export function closedAfterEach(): <T extends Closable>(opened: T) => T {
  const open: Closable[] = [];
  afterEach(async () => {
    for (const opened of open.splice(0).reverse()) await opened.close();
  });
  return (opened) => {
    open.push(opened);
    return opened;
  };
}
