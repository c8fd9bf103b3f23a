import { useState } from "preact/hooks";

/** A fixture island: a counter (Preact hooks, shared with Greeter through a chunk). */
export default function Counter({ start }: { start: number }) {
  const [count, setCount] = useState(start);
  return <button type="button" onClick={() => setCount(count + 1)}>Count {count}</button>;
}
