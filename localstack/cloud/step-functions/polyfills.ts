// aws-local-stepfunctions 3 calls Promise.withResolvers (Node 22+); the local tooling runs on Node 20.
const promise = Promise as unknown as { withResolvers?: () => unknown };
promise.withResolvers ??= <T>() => {
  let resolve!: (value: T) => void;
  let reject!: (reason?: unknown) => void;
  const created = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise: created, resolve, reject };
};

export {};
