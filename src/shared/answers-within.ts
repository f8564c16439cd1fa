/**
 * Whether `answer` settles successfully within `ms`: a rejection, or no answer in time, is false.
 * For probes of a server that may hang (a stopped Redis keeps its TCP connection open, so a PING
 * is written and waits rather than failing). The answer is not cancelled.
 */
export async function answersWithin(answer: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      answer.then(
        () => true,
        () => false,
      ),
      new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), ms);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}
